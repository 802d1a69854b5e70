"""What messaging's services refuse with: the message is for the customer (str(error))."""


class MessagingError(ValueError):
    pass


class NoConsent(MessagingError):
    """The customer has not allowed this message (or the app does not send it)."""
