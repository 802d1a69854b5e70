"""Mini apps' services, by sub-domain; the public names are all here.

- apps.py: making and changing an app, finding a live one;
- codes.py: entry codes (table, store, product, campaign), their names, labels and states;
- qr.py: a code as a QR symbol (SVG, PNG);
- visits.py: visits and their doors (scenes), and which door an order is credited to;
- sharing.py: customers' share links.

Posters of codes are miniapps/posters.py.
"""

from tapgo.miniapps.services.apps import (
    COLOR_RE,
    RESERVED_SLUGS,
    SLUG_RE,
    MiniAppError,
    access_app,
    app_create,
    app_set_published,
    app_update,
    apps_of,
    live_app,
    live_app_of_merchants,
)
from tapgo.miniapps.services.codes import (
    CODE_DISABLED,
    CODE_EXPIRED,
    CODE_LENGTH,
    CODE_NAME_MAX,
    CODE_WORKING,
    MAX_TABLES,
    SCENE_PARAM_MAX,
    TABLE_LABEL_MAX,
    access_code,
    clean_scene_param,
    code_create,
    code_set_enabled,
    code_status,
    code_update,
    codes_of,
    codes_with_scans,
    parse_table_range,
    table_codes_create,
)
from tapgo.miniapps.services.qr import (
    PNG_DEFAULT_SIZE,
    PNG_SIZES,
    QR_BORDER,
    code_png,
    code_svg,
    code_url,
    qr_image,
)
from tapgo.miniapps.services.sharing import (
    SHARE_TOKEN_LENGTH,
    Recredit,
    share_label,
    share_link_for,
    share_links_move,
    share_recredits,
    share_resolve,
)
from tapgo.miniapps.services.visits import (
    ATTRIBUTION_WINDOW,
    entry_door,
    visit_record,
    visits_move,
)

__all__ = [
    "ATTRIBUTION_WINDOW",
    "CODE_DISABLED",
    "CODE_EXPIRED",
    "CODE_LENGTH",
    "CODE_NAME_MAX",
    "CODE_WORKING",
    "COLOR_RE",
    "MAX_TABLES",
    "PNG_DEFAULT_SIZE",
    "PNG_SIZES",
    "QR_BORDER",
    "RESERVED_SLUGS",
    "SCENE_PARAM_MAX",
    "SHARE_TOKEN_LENGTH",
    "SLUG_RE",
    "TABLE_LABEL_MAX",
    "MiniAppError",
    "Recredit",
    "access_app",
    "access_code",
    "app_create",
    "app_set_published",
    "app_update",
    "apps_of",
    "clean_scene_param",
    "code_create",
    "code_png",
    "code_set_enabled",
    "code_status",
    "code_svg",
    "code_update",
    "code_url",
    "codes_of",
    "codes_with_scans",
    "entry_door",
    "live_app",
    "live_app_of_merchants",
    "parse_table_range",
    "qr_image",
    "share_label",
    "share_link_for",
    "share_links_move",
    "share_recredits",
    "share_resolve",
    "table_codes_create",
    "visit_record",
    "visits_move",
]
