app_name = "shell"
urlpatterns: list = []
