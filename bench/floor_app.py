"""The floor the cold start and render are compared with: a bare Chalice app whose one
route does a single DynamoDB GetItem and returns a 2 KB page."""
import boto3
from chalice import Chalice, Response

app = Chalice(app_name="floor")
_client = None
PAGE = "<!doctype html><title>floor</title>" + "<p>" + "x" * 2000 + "</p>"


@app.route("/c/{checkout_id}")
def page(checkout_id):
    global _client
    if _client is None:
        _client = boto3.client("dynamodb")
    import os

    _client.get_item(TableName=os.environ["CHECKOUT_TABLE"], Key={"pk": {"S": f"CHECKOUT#{checkout_id}"}, "sk": {"S": "CHECKOUT"}},
                     ConsistentRead=True)
    return Response(body=PAGE, status_code=200, headers={"Content-Type": "text/html"})
