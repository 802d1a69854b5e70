"""The merchant console's views: thin, they read the request, call a flow or a domain service
and render. base.py is the frame they share (merchant_view, render_console, wants_json,
store_image); each other module is one area of the console, and urls.py names its views.
"""
