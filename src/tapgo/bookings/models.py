"""The bookings domain's tables.

- ServiceCategory, Service: what a merchant sells by the hour (duration, price, deposit,
  buffers before and after);
- Resource: who or what performs services (a person, a chair, a room), with a per-day limit;
- WeeklyHours, DayHours, TimeOff: when a resource works (weekly rows, several a day for
  breaks), a day's other hours (a late opening), and time off (a holiday, for one resource
  or the whole store);
- Policy: a mini app's booking rules, copied onto each booking;
- Booking, BookingItem, BookingEvent: a customer's visit (one item per service, back to
  back with one resource), its status and what happened to it, with who did it;
- Occupancy: the five-minute cells a live booking covers, unique per resource: the database's
  refusal of a double booking (docs/decisions/0019-bookings.md);
- DayCount: a resource's bookings on one day of the store, for its per-day limit.

Every length of time is a whole number of minutes, a multiple of GRID_MINUTES, so a booking's
cells cover exactly its time."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tapgo.core.actors import ActorRecorded
from tapgo.core.ids import PublicIdField
from tapgo.core.tenancy import MerchantOwned

# The occupancy grid: cells start at whole multiples of this many minutes since the epoch
# (UTC). Durations, buffers, slot steps and working hours are multiples of it.
GRID_MINUTES = 5
# How long a chosen slot is held while the customer pays the deposit.
HOLD_MINUTES = 5
# The longest a visit occupies a resource (its services and buffers): what lets the slot
# engine read a day's bookings by a bounded range of their starts.
MAX_VISIT_MINUTES = 24 * 60


class DepositKind(models.TextChoices):
    NONE = "none", _("No deposit")
    FIXED = "fixed", _("A fixed amount")
    PERCENT = "percent", _("A percentage of the price")


class ServiceCategory(MerchantOwned):
    """A group of services on the app's booking page (Hair, Nails…)."""

    public_id = PublicIdField()
    name = models.CharField(_("name"), max_length=60)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.name


class Service(MerchantOwned):
    """A bookable service: how long it takes, what it costs, what deposit it asks, and the
    buffer the resource needs before and after it (preparing, cleaning)."""

    public_id = PublicIdField()
    name = models.CharField(_("name"), max_length=80)
    description = models.CharField(_("description"), max_length=500, blank=True)
    category = models.ForeignKey(
        ServiceCategory, null=True, blank=True, on_delete=models.SET_NULL, related_name="services"
    )
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"))
    price = models.PositiveIntegerField(_("price (minor units)"), default=0)
    deposit_kind = models.CharField(
        _("deposit"), max_length=10, choices=DepositKind.choices, default=DepositKind.NONE
    )
    # Minor units (fixed) or a percentage of the price (percent, 1..100).
    deposit_value = models.PositiveIntegerField(_("deposit amount or percentage"), default=0)
    buffer_before_minutes = models.PositiveIntegerField(_("buffer before (minutes)"), default=0)
    buffer_after_minutes = models.PositiveIntegerField(_("buffer after (minutes)"), default=0)
    active = models.BooleanField(_("bookable"), default=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gt=0), name="service_duration_positive"
            ),
            models.CheckConstraint(
                condition=~Q(deposit_kind="percent") | Q(deposit_value__lte=100),
                name="service_deposit_percent_within",
            ),
        ]

    def __str__(self):
        return self.name

    def deposit(self) -> int:
        """The deposit this service asks, in minor units (never more than its price)."""
        if self.deposit_kind == DepositKind.FIXED:
            return min(self.deposit_value, self.price)
        if self.deposit_kind == DepositKind.PERCENT:
            return min(self.price, (self.price * self.deposit_value + 50) // 100)
        return 0


class ResourceKind(models.TextChoices):
    PERSON = "person", _("Person")
    CHAIR = "chair", _("Chair")
    ROOM = "room", _("Room")


class Resource(MerchantOwned):
    """A person or a thing (a chair, a room) that performs services, one booking at a time."""

    public_id = PublicIdField()
    name = models.CharField(_("name"), max_length=80)
    kind = models.CharField(
        _("kind"), max_length=10, choices=ResourceKind.choices, default=ResourceKind.PERSON
    )
    active = models.BooleanField(_("bookable"), default=True)
    # At most this many bookings on one day of the store; None: no limit.
    daily_limit = models.PositiveIntegerField(_("bookings per day at most"), null=True, blank=True)
    services = models.ManyToManyField(Service, blank=True, related_name="resources")
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.name


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class WeeklyHours(MerchantOwned):
    """A span of a resource's working week on the store's wall clock; several spans on one
    weekday leave breaks between them."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="weekly_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        ordering = ["resource", "weekday", "start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__lt=models.F("end")), name="weekly_hours_span"
            ),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="weekly_hours_weekday"),
        ]


class DayHours(MerchantOwned):
    """A day when a resource works other hours than its week's (a late opening): the rows of
    that day replace its weekly hours on that day. A day off is TimeOff, not an empty day."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="day_hours")
    day = models.DateField()
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        ordering = ["resource", "day", "start"]
        indexes = [models.Index(fields=["resource", "day"])]
        constraints = [
            models.CheckConstraint(condition=Q(start__lt=models.F("end")), name="day_hours_span")
        ]


class TimeOff(MerchantOwned):
    """Time a resource (or, without one, every resource of the store) takes no bookings: a
    holiday, a training, a closed afternoon."""

    resource = models.ForeignKey(
        Resource, null=True, blank=True, on_delete=models.CASCADE, related_name="time_off"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(_("reason"), max_length=120, blank=True)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["merchant", "ends_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__lt=models.F("ends_at")), name="time_off_span"
            )
        ]


class PersonChoice(models.TextChoices):
    CHOOSE = "choose", _("The customer chooses a person or anyone")
    ANYONE = "anyone", _("Anyone free (the customer does not choose)")


class DepositRule(models.TextChoices):
    REFUND = "refund", _("Refund the deposit")
    KEEP = "keep", _("Keep the deposit")


class Policy(MerchantOwned):
    """A mini app's booking rules, made on first use. Each booking keeps a copy of the rules it
    was made under (Booking.policy), so a later change never rewrites a booking's terms."""

    app = models.OneToOneField(
        "miniapps.MiniApp", on_delete=models.CASCADE, related_name="booking_policy"
    )
    max_days_ahead = models.PositiveIntegerField(_("book at most this many days ahead"), default=60)
    min_notice_minutes = models.PositiveIntegerField(_("minimum notice (minutes)"), default=60)
    slot_step_minutes = models.PositiveIntegerField(_("a slot every (minutes)"), default=15)
    person_choice = models.CharField(
        _("choosing a person"),
        max_length=10,
        choices=PersonChoice.choices,
        default=PersonChoice.CHOOSE,
    )
    cancel_window_hours = models.PositiveIntegerField(
        _("free cancellation until (hours before)"), default=24
    )
    reschedule_window_hours = models.PositiveIntegerField(
        _("rescheduling online until (hours before)"), default=24
    )
    late_cancel_deposit = models.CharField(
        _("deposit of a late cancellation"),
        max_length=10,
        choices=DepositRule.choices,
        default=DepositRule.KEEP,
    )
    no_show_deposit = models.CharField(
        _("deposit of a no-show"),
        max_length=10,
        choices=DepositRule.choices,
        default=DepositRule.KEEP,
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(slot_step_minutes__gte=GRID_MINUTES), name="policy_step_positive"
            )
        ]

    def copy(self, *, time_zone: str) -> dict:
        """The rules as a booking keeps them (with the store's time zone of the day)."""
        return {
            "max_days_ahead": self.max_days_ahead,
            "min_notice_minutes": self.min_notice_minutes,
            "slot_step_minutes": self.slot_step_minutes,
            "person_choice": self.person_choice,
            "cancel_window_hours": self.cancel_window_hours,
            "reschedule_window_hours": self.reschedule_window_hours,
            "late_cancel_deposit": self.late_cancel_deposit,
            "no_show_deposit": self.no_show_deposit,
            "time_zone": time_zone,
        }


class BookingStatus(models.TextChoices):
    HOLD = "hold", _("Held")
    CONFIRMED = "confirmed", _("Confirmed")
    CANCELLED = "cancelled", _("Cancelled")
    COMPLETED = "completed", _("Completed")
    NO_SHOW = "no_show", _("Did not come")
    EXPIRED = "expired", _("Hold expired")


# The statuses whose booking keeps its cells (and counts towards its day's limit); a hold only
# until the sweep (or another booking of its cells) expires it.
OCCUPYING = (
    BookingStatus.HOLD,
    BookingStatus.CONFIRMED,
    BookingStatus.COMPLETED,
    BookingStatus.NO_SHOW,
)


class Booking(MerchantOwned, ActorRecorded):
    """A visit: one or more services back to back with one resource. Times are UTC; the
    occupied span adds the first service's buffer before and the last one's buffer after.
    The actor columns say who made it (the customer, or staff for a walk-in or a call)."""

    public_id = PublicIdField()
    app = models.ForeignKey("miniapps.MiniApp", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(
        "identity.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who to expect, for a booking staff took by phone or at the door (no customer account).
    contact_name = models.CharField(_("name"), max_length=80, blank=True)
    contact_phone = models.CharField(_("phone"), max_length=40, blank=True)
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="bookings")
    status = models.CharField(
        max_length=10, choices=BookingStatus.choices, default=BookingStatus.HOLD
    )
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    occupied_from = models.DateTimeField()  # starts_at less the buffer before
    occupied_until = models.DateTimeField()  # ends_at plus the buffer after
    day = models.DateField()  # the store's day of starts_at: the per-day limit's day
    currency = models.CharField(max_length=3)
    price = models.PositiveIntegerField(default=0)
    deposit = models.PositiveIntegerField(default=0)
    # The app's Policy as it was when the booking was made (Policy.copy).
    policy = models.JSONField(default=dict)
    # Bumped by each move: a calendar file's SEQUENCE, and what a reminder is sent for.
    sequence = models.PositiveIntegerField(default=0)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)  # completed or marked no-show

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [
            # A day's busy time: occupied_from in [day - MAX_VISIT, day's end) of a resource.
            models.Index(fields=["resource", "occupied_from"]),
            models.Index(fields=["merchant", "starts_at"]),
            models.Index(fields=["customer", "starts_at"]),
            models.Index(fields=["status", "hold_expires_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__lt=models.F("ends_at")), name="booking_span"
            ),
            models.CheckConstraint(
                condition=Q(occupied_from__lte=models.F("starts_at"))
                & Q(occupied_until__gte=models.F("ends_at")),
                name="booking_occupies_its_span",
            ),
            models.CheckConstraint(
                condition=~Q(status="hold") | Q(hold_expires_at__isnull=False),
                name="booking_hold_expires",
            ),
            models.CheckConstraint(
                condition=Q(deposit__lte=models.F("price")), name="booking_deposit_within"
            ),
        ]

    def __str__(self):
        return self.public_id


class BookingItem(models.Model):
    """One service of a booking, at its own time, with its name and price as they were."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="items")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=80)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    price = models.PositiveIntegerField(default=0)
    deposit = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["booking", "position"]
        constraints = [
            models.UniqueConstraint(fields=["booking", "position"], name="booking_item_position")
        ]


class BookingEvent(ActorRecorded):
    """What happened to a booking (held, confirmed, moved, cancelled…), when, and by whom."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20)
    at = models.DateTimeField(default=timezone.now)
    # A move's times before it, a cancellation's reason.
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]


class Occupancy(models.Model):
    """One GRID_MINUTES cell of a resource's time taken by one live booking. The unique
    constraint is what refuses a second booking of any of its cells, on both databases."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="+")
    cell = models.DateTimeField()  # the cell's start, UTC, on the grid
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["booking"])]
        constraints = [
            models.UniqueConstraint(fields=["resource", "cell"], name="occupancy_one_per_cell")
        ]


class DayCount(models.Model):
    """How many live bookings a resource has on one day of the store (its per-day limit),
    moved by a conditional UPDATE under the limit."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["resource", "day"], name="bookings_one_count_per_day")
        ]
