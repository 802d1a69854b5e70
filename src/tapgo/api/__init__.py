"""The API interface: machine-to-machine endpoints. Today: the payment providers' webhooks
(provider_webhooks.py); the developer API comes here too."""
