"""The Chalice app: one Blueprint per audience, registered here; the routes live in chalicelib/entrypoints/."""
from chalicelib.lifetime import container_lifetime

with container_lifetime():
    from chalice import Chalice

    from chalicelib.entrypoints import dashboard, jobs, merchant_api, provider_webhooks, sandbox, shopper_pages
    from chalicelib.logs import configure_logging

    app = Chalice(app_name="hosted-checkout")
    for blueprint in (merchant_api, shopper_pages, provider_webhooks, sandbox, jobs, dashboard):
        app.register_blueprint(blueprint.bp)
    configure_logging(app)
