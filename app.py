"""The Chalice app: one Blueprint per audience, registered here; the routes live in chalicelib/entrypoints/."""
import gc

# What start-up makes (modules, classes, tables: some 60,000 objects) lives as long as the
# container, so no collection could free any of it: the collector is off while it is made,
# then frozen out of later collections, which would otherwise walk it all again before the
# first page is out (about 25 ms of a cold start; bench/run.py).
collecting = gc.isenabled()
gc.disable()

from chalice import Chalice  # noqa: E402

from chalicelib.entrypoints import dashboard, jobs, merchant_api, provider_webhooks, sandbox, shopper_pages  # noqa: E402
from chalicelib.logs import configure_logging  # noqa: E402

app = Chalice(app_name="hosted-checkout")
for blueprint in (merchant_api, shopper_pages, provider_webhooks, sandbox, jobs, dashboard):
    app.register_blueprint(blueprint.bp)
configure_logging(app)

gc.freeze()
if collecting:
    gc.enable()
