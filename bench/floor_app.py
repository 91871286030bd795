"""The floor the cold start and the warm render are compared with: what a bare Chalice app
does for the same route. One module-level Chalice app, a botocore DynamoDB client made
lazily on the first request (as the product makes its own), one strongly consistent
``GetItem`` of the checkout, and a fixed 2 KB page."""
import os

from chalice import Chalice, Response

app = Chalice(app_name="floor")
_client = None
PAGE = "<!doctype html><title>floor</title>" + "<p>" + "x" * 2000 + "</p>"


@app.route("/c/{checkout_id}")
def page(checkout_id):
    global _client
    if _client is None:
        import botocore.session

        _client = botocore.session.get_session().create_client("dynamodb")
    _client.get_item(TableName=os.environ["CHECKOUT_TABLE"],
                     Key={"pk": {"S": f"CHECKOUT#{checkout_id}"}, "sk": {"S": "CHECKOUT"}}, ConsistentRead=True)
    return Response(body=PAGE, status_code=200, headers={"Content-Type": "text/html"})
