"""The shell's views: the customer's pages, one module per area, each docstring saying more.

- base.py: what every mini-app page shares: the frame (the app and its per-request bits,
  through shell/page.py), recording the door a customer came in by, the customer's own order
  by its public id, the ways to pay a merchant and the sign-in link;
- menu.py: the mini app's menu page and what a scanned code opens;
- product.py: a product's page (also what a product's code opens);
- cart.py: the cart (at a table, the table's shared cart), its changes, and checkout;
- table.py: a table's bill paid after eating, in parts with tips; the table's live feed;
- orders.py: an order's page and live status, paying for it, cancelling it;
- card.py: the stored-value card with a merchant and topping it up;
- me.py: my orders, my cards, signing in and out;
- home.py: the shell's home (pinned and recently used apps), nearby, pinning;
- search.py: the search page;
- articles.py: the official account's articles;
- sharing.py: the customer's share link and rich previews for chat apps;
- notifications.py: asking for notifications, the inbox, consents, devices, Web Push,
  the service worker and one-click unsubscribe;
- pay.py: the pages a customer pays on at our own site (sandbox, Stripe, WeChat Pay).

The menu page's speed machinery is not a view: shell/page.py, shell/front.py, shell/state.py.
shell/urls.py and tapgo/urls.py (the payment pages) name the views by module.
"""
