"""Writes docs/postman/ (the Postman collection and its environment for the default ports).
The JSON files are committed; edit this script and run it (python3 tests/ship/gen_postman.py)
to change them. tests/ship/test_postman*.py check and run the result."""
import os
import json

os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

def js(*lines): return list(lines)

# Who signs what: the services take the collection's bearer token ({{serviceToken}}, the token
# the orchestrators send), PUT stock the admin token, and the public order API, /health and the
# deliberate 401 none.
PUBLIC_BASES = ("pureBaseUrl", "temporalBaseUrl")
NOAUTH = {"type": "noauth"}


def bearer(var):
    return {"type": "bearer", "bearer": [{"key": "token", "value": "{{%s}}" % var, "type": "string"}]}


def req(name, method, base, path, body=None, tests=(), prerequest=(), headers=None, query=None, auth=None):
    url_raw = "{{%s}}%s" % (base, path)
    h = [{"key": "Content-Type", "value": "application/json"}] if body is not None else []
    for k, v in (headers or {}).items():
        h.append({"key": k, "value": v})
    segs = [p for p in path.split("?")[0].split("/") if p]
    url = {"raw": url_raw + ("?" + "&".join(f"{k}={v}" for k, v in query) if query else ""),
           "host": ["{{%s}}" % base], "path": segs}
    if query:
        url["query"] = [{"key": k, "value": v} for k, v in query]
    item = {"name": name, "request": {"method": method, "header": h, "url": url}, "event": []}
    if auth is None and (base in PUBLIC_BASES or path == "/health"):
        auth = NOAUTH
    if auth is not None:
        item["request"]["auth"] = auth
    if body is not None:
        item["request"]["body"] = {"mode": "raw", "raw": json.dumps(body, indent=2).replace('"@@', '').replace('@@"', ''),
                                   "options": {"raw": {"language": "json"}}}
    if prerequest:
        item["event"].append({"listen": "prerequest", "script": {"type": "text/javascript", "exec": list(prerequest)}})
    if tests:
        item["event"].append({"listen": "test", "script": {"type": "text/javascript", "exec": list(tests)}})
    return item

def folder(name, desc, items):
    return {"name": name, "description": desc, "item": items}

order_body = {"customerId": "@@{{customerId}}@@", "productId": "@@{{productId}}@@", "quantity": "@@{{quantity}}@@",
              "amount": "@@{{amount}}@@", "paymentMethod": "CARD"}
fail_body = dict(order_body, amount="@@{{failAmount}}@@")
oos_body = dict(order_body, quantity="@@{{tooManyItems}}@@")

status_is = lambda code: f'pm.test("status {code}", () => pm.response.to.have.status({code}));'
json_ct = 'pm.test("JSON body", () => pm.expect(pm.response.headers.get("Content-Type")).to.include("json"));'

health = [req(f"{n} /health", "GET", b, "/health", tests=js(status_is(200), 'pm.test("UP", () => pm.expect(pm.response.json().status).to.eql("UP"));'))
          for n, b in [("orchestrator-pure", "pureBaseUrl"), ("orchestrator-temporal", "temporalBaseUrl"),
                       ("service-order", "orderBaseUrl"), ("service-inventory", "inventoryBaseUrl"),
                       ("service-payment", "paymentBaseUrl"), ("service-notification", "notificationBaseUrl")]]

def stock_snapshot(var):
    return req("Read stock", "GET", "inventoryBaseUrl", "/api/inventory/{{productId}}", tests=js(
        status_is(200),
        f'pm.collectionVariables.set("{var}", pm.response.json().available);'))

def check_order(status, var="orderId"):
    return req(f"Order is {status}", "GET", "orderBaseUrl", "/api/orders/{{%s}}" % var, tests=js(
        status_is(200), f'pm.test("order {status}", () => pm.expect(pm.response.json().status).to.eql("{status}"));'))

def check_payment(status, var="paymentId"):
    return req(f"Payment is {status}", "GET", "paymentBaseUrl", "/api/payments/{{%s}}" % var, tests=js(
        status_is(200), f'pm.test("payment {status}", () => pm.expect(pm.response.json().status).to.eql("{status}"));'))

def stock_back(var):
    return req("Stock is back to its starting value", "GET", "inventoryBaseUrl", "/api/inventory/{{productId}}", tests=js(
        status_is(200),
        f'pm.test("available restored", () => pm.expect(pm.response.json().available).to.eql(Number(pm.collectionVariables.get("{var}"))));'))

key_pre = js('pm.collectionVariables.set("idemKey", "postman-" + pm.variables.replaceIn("{{$guid}}"));')

setup = folder("0 Setup", "Gives the demo product enough stock for the run.", [
    req("Set stock (admin token)", "PUT", "inventoryBaseUrl", "/api/inventory/{{productId}}", body={"available": "@@{{initialStock}}@@"},
        auth=bearer("adminToken"),
        tests=js(status_is(200), 'pm.test("stock set", () => pm.expect(pm.response.json().available).to.eql(Number(pm.environment.get("initialStock") || pm.variables.get("initialStock"))));')),
])

pure_ok = folder("1 Pure orchestrator: place an order", "POST /api/pure/orders runs the whole saga and answers its result.", [
    req("Place order (pure)", "POST", "pureBaseUrl", "/api/pure/orders", body=order_body, prerequest=key_pre,
        headers={"Idempotency-Key": "{{idemKey}}"}, tests=js(
            status_is(200), json_ct,
            'const r = pm.response.json();',
            'pm.test("saga succeeded", () => pm.expect(r.success).to.eql(true));',
            'pm.test("ids returned", () => { pm.expect(r.orderId).to.be.a("number"); pm.expect(r.paymentId).to.be.a("number"); pm.expect(r.sagaId).to.be.a("string"); });',
            'pm.collectionVariables.set("orderId", r.orderId);',
            'pm.collectionVariables.set("paymentId", r.paymentId);',
            'pm.collectionVariables.set("sagaId", r.sagaId);')),
    req("Same Idempotency-Key again attaches to the same saga", "POST", "pureBaseUrl", "/api/pure/orders", body=order_body,
        headers={"Idempotency-Key": "{{idemKey}}"}, tests=js(
            status_is(200),
            'pm.test("same saga and order", () => { const r = pm.response.json(); pm.expect(r.sagaId).to.eql(pm.collectionVariables.get("sagaId")); pm.expect(String(r.orderId)).to.eql(String(pm.collectionVariables.get("orderId"))); });')),
    req("Read the saga back", "GET", "pureBaseUrl", "/api/pure/orders/{{sagaId}}", tests=js(
        status_is(200),
        'pm.test("COMPLETED", () => pm.expect(pm.response.json().status).to.eql("COMPLETED"));')),
    check_order("CONFIRMED"),
    check_payment("CONFIRMED"),
    req("Notifications for the order", "GET", "notificationBaseUrl", "/api/notifications",
        query=[("orderId", "{{orderId}}")], prerequest=js(
            'if (!pm.collectionVariables.get("notifTries")) pm.collectionVariables.set("notifTries", 0);'),
        tests=js(
            status_is(200),
            'const list = pm.response.json();',
            'const tries = Number(pm.collectionVariables.get("notifTries"));',
            'if (list.length === 0 && tries < 40) {',
            '  pm.collectionVariables.set("notifTries", tries + 1);',
            '  setTimeout(() => {}, 250);',
            '  postman.setNextRequest("Notifications for the order");',
            '} else {',
            '  pm.collectionVariables.set("notifTries", 0);',
            '  pm.test("the order events arrived", () => pm.expect(list.length).to.be.above(0));',
            '}')),
])

pure_comp = folder("2 Pure orchestrator: a compensated order",
    "An amount the fake payment gateway refuses (above FAKE_PG_LIMIT): T3-2 fails, the payment is refunded, the stock released and the order cancelled.", [
    stock_snapshot("stockBefore"),
    req("Place order the gateway refuses (pure)", "POST", "pureBaseUrl", "/api/pure/orders", body=fail_body, tests=js(
        status_is(200),
        'const r = pm.response.json();',
        'pm.test("saga failed and compensated", () => { pm.expect(r.success).to.eql(false); pm.expect(r.errorType).to.eql("InsufficientBalance"); });',
        'pm.collectionVariables.set("failedOrderId", r.orderId);',
        'pm.collectionVariables.set("failedPaymentId", r.paymentId);',
        'pm.collectionVariables.set("failedSagaId", r.sagaId);')),
    req("Read the compensated saga back", "GET", "pureBaseUrl", "/api/pure/orders/{{failedSagaId}}", tests=js(
        status_is(200),
        'pm.test("COMPENSATED", () => pm.expect(pm.response.json().status).to.eql("COMPENSATED"));')),
    check_order("CANCELLED", "failedOrderId"),
    check_payment("REFUNDED", "failedPaymentId"),
    stock_back("stockBefore"),
])

temporal_ok = folder("3 Temporal orchestrator: place an order", "POST /api/temporal/orders starts OrderWorkflow and waits for its result.", [
    req("Place order (Temporal)", "POST", "temporalBaseUrl", "/api/temporal/orders", body=order_body, tests=js(
        status_is(200), json_ct,
        'const r = pm.response.json();',
        'pm.test("workflow succeeded", () => pm.expect(r.success).to.eql(true));',
        'pm.test("workflow id", () => pm.expect(r.workflowId).to.match(/^order-/));',
        'pm.collectionVariables.set("workflowId", r.workflowId);',
        'pm.collectionVariables.set("tOrderId", r.orderId);',
        'pm.collectionVariables.set("tPaymentId", r.paymentId);')),
    req("Read the workflow back", "GET", "temporalBaseUrl", "/api/temporal/orders/{{workflowId}}", tests=js(
        status_is(200),
        'const r = pm.response.json();',
        'pm.test("COMPLETED with its result", () => { pm.expect(r.status).to.eql("COMPLETED"); pm.expect(r.result.success).to.eql(true); });',
        'pm.test("Temporal UI link", () => pm.expect(r.temporalUiUrl).to.include("/workflows/" + r.workflowId));')),
    check_order("CONFIRMED", "tOrderId"),
    check_payment("CONFIRMED", "tPaymentId"),
    req("Start an order asynchronously", "POST", "temporalBaseUrl", "/api/temporal/orders/async", body=order_body, tests=js(
        status_is(202),
        'const r = pm.response.json();',
        'pm.test("workflow id and UI link", () => { pm.expect(r.workflowId).to.match(/^order-/); pm.expect(r.temporalUiUrl).to.include(r.workflowId); });',
        'pm.collectionVariables.set("asyncWorkflowId", r.workflowId);',
        'pm.collectionVariables.set("pollTries", 0);')),
    req("Poll the async order until it completes", "GET", "temporalBaseUrl", "/api/temporal/orders/{{asyncWorkflowId}}", tests=js(
        status_is(200),
        'const r = pm.response.json();',
        'const tries = Number(pm.collectionVariables.get("pollTries"));',
        'if (r.status === "RUNNING" && tries < 60) {',
        '  pm.collectionVariables.set("pollTries", tries + 1);',
        '  setTimeout(() => {}, 250);',
        '  postman.setNextRequest("Poll the async order until it completes");',
        '} else {',
        '  pm.test("async order COMPLETED", () => { pm.expect(r.status).to.eql("COMPLETED"); pm.expect(r.result.success).to.eql(true); });',
        '}')),
])

temporal_comp = folder("4 Temporal orchestrator: a compensated order",
    "The same refused payment through Temporal: the workflow runs RefundPayment, CancelReservation, CancelOrder and completes with success=false.", [
    stock_snapshot("stockBeforeT"),
    req("Place order the gateway refuses (Temporal)", "POST", "temporalBaseUrl", "/api/temporal/orders", body=fail_body, tests=js(
        status_is(200),
        'const r = pm.response.json();',
        'pm.test("workflow compensated", () => { pm.expect(r.success).to.eql(false); pm.expect(r.error).to.include("InsufficientBalance"); });',
        'pm.collectionVariables.set("tFailedWorkflowId", r.workflowId);')),
    req("Read the compensated workflow back", "GET", "temporalBaseUrl", "/api/temporal/orders/{{tFailedWorkflowId}}", tests=js(
        status_is(200),
        'const r = pm.response.json();',
        'pm.test("COMPLETED with success=false", () => { pm.expect(r.status).to.eql("COMPLETED"); pm.expect(r.result.success).to.eql(false); });',
        'if (r.result && r.result.orderId) pm.collectionVariables.set("tFailedOrderId", r.result.orderId);')),
    stock_back("stockBeforeT"),
    stock_snapshot("stockBeforeOos"),
    req("Order more than the stock (Temporal)", "POST", "temporalBaseUrl", "/api/temporal/orders", body=oos_body, tests=js(
        status_is(200),
        'const r = pm.response.json();',
        'pm.test("OutOfStock, compensated", () => { pm.expect(r.success).to.eql(false); pm.expect(r.error).to.include("OutOfStock"); });')),
    stock_back("stockBeforeOos"),
])

errors = folder("5 Errors are problem+json", "Bad input gets 4xx application/problem+json with a code.", [
    req("Zero quantity is refused", "POST", "pureBaseUrl", "/api/pure/orders",
        body=dict(order_body, quantity=0), tests=js(
            status_is(400),
            'pm.test("problem+json", () => pm.expect(pm.response.headers.get("Content-Type")).to.include("application/problem+json"));',
            'pm.test("ValidationFailed", () => pm.expect(pm.response.json().code).to.eql("ValidationFailed"));')),
    req("Unknown order", "GET", "orderBaseUrl", "/api/orders/9223372036854775806", tests=js(
        status_is(404),
        'pm.test("NotFound", () => pm.expect(pm.response.json().code).to.eql("NotFound"));')),
    req("A service refuses a call without a token", "GET", "orderBaseUrl", "/api/orders/1", auth=NOAUTH, tests=js(
        status_is(401),
        'pm.test("WWW-Authenticate: Bearer", () => pm.expect(pm.response.headers.get("WWW-Authenticate")).to.match(/^Bearer/));',
        'pm.test("Unauthorized, with the request id", () => { const p = pm.response.json(); pm.expect(p.code).to.eql("Unauthorized"); pm.expect(p.requestId).to.eql(pm.response.headers.get("X-Request-Id")); });')),
    req("The service token cannot set stock", "PUT", "inventoryBaseUrl", "/api/inventory/{{productId}}",
        body={"available": 1}, tests=js(
            status_is(403),
            'pm.test("Forbidden", () => pm.expect(pm.response.json().code).to.eql("Forbidden"));')),
])

coll = {
    "info": {
        "_postman_id": "6f2d6a55-8d0e-4c1e-9a57-0b7f3d0c2a11",
        "name": "Order saga suite",
        "description": "Places orders on both orchestrators, reads them back from the services, and watches compensated sagas. "
                       "Import together with order-saga-local.postman_environment.json (default ports 21080-21085) and "
                       "set its serviceToken and adminToken from .stack/secrets.env, or import the filled copy "
                       "scripts/demo writes to .stack/postman-environment.json. The order API is public; the services "
                       "take the collection's bearer token (serviceToken), PUT stock the adminToken. "
                       "The API is described in docs/openapi.yaml.",
        "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
    },
    "auth": bearer("serviceToken"),
    "item": [folder("Health", "GET /health on the six daemons.", health), setup, pure_ok, pure_comp, temporal_ok, temporal_comp, errors],
    "variable": [{"key": k, "value": v} for k, v in [
        ("orderId", ""), ("paymentId", ""), ("sagaId", ""), ("idemKey", ""), ("notifTries", "0"), ("pollTries", "0"),
        ("failedOrderId", ""), ("failedPaymentId", ""), ("failedSagaId", ""), ("workflowId", ""), ("tOrderId", ""),
        ("tPaymentId", ""), ("asyncWorkflowId", ""), ("tFailedWorkflowId", ""), ("tFailedOrderId", ""),
        ("stockBefore", ""), ("stockBeforeT", ""), ("stockBeforeOos", "")]],
}
env = {
    "id": "0d4c3e36-2b7b-4a0e-8f4e-5d1c9a7e6b21",
    "name": "order-saga local (default ports)",
    "values": [{"key": k, "value": "", "type": "secret", "enabled": True} for k in ("serviceToken", "adminToken")] +
              [{"key": k, "value": v, "type": "default", "enabled": True} for k, v in [
        ("pureBaseUrl", "http://127.0.0.1:21080"), ("temporalBaseUrl", "http://127.0.0.1:21081"),
        ("orderBaseUrl", "http://127.0.0.1:21082"), ("inventoryBaseUrl", "http://127.0.0.1:21083"),
        ("paymentBaseUrl", "http://127.0.0.1:21084"), ("notificationBaseUrl", "http://127.0.0.1:21085"),
        ("customerId", "1"), ("productId", "1"), ("quantity", "2"), ("amount", "20000"),
        ("failAmount", "2000000"), ("initialStock", "100000"), ("tooManyItems", "1000000000")]],
    "_postman_variable_scope": "environment",
}
for path, doc in (("docs/postman/order-saga.postman_collection.json", coll),
                  ("docs/postman/order-saga-local.postman_environment.json", env)):
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
