class SecurityHeadersMiddleware:
    """Headers Django's SecurityMiddleware does not set itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), payment=(), geolocation=(self)"
        )
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response
