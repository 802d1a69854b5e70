"""Background work for messaging: deliver a message after the transaction that made it."""

from django.tasks import task


@task()
def deliver_message(message_id: int) -> int:
    from tapgo.messaging import delivery

    return delivery.deliver_message(message_id)
