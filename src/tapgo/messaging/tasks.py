"""Background work for messaging: deliver a message after the transaction that made it."""

from django.tasks import task

from tapgo.messaging import delivery


@task()
def deliver_message(message_id: int) -> int:
    return delivery.deliver_message(message_id)
