import schemathesis
import pytest
from tests.service.notice_data import notice

@pytest.fixture
async def live_node(make_node):
    live = await make_node("de-bafa")
    r = await live.client.post("/api/v1/notices", json=notice(), headers=live.auth("officer"))
    assert r.status_code == 201, r.text
    live.notice_id = r.json()["notice_id"]
    return live

def test_probe(live_node):
    app = live_node.client._transport.app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    for op in schema.get_all_operations():
        op = op.ok()
        print(op.method, op.path)
    case = schema["/api/v1/notices/{notice_id}"]["GET"].Case(path_parameters={"notice_id": live_node.notice_id})
    resp = case.call(headers=live_node.auth("officer"))
    print(resp.status_code, resp.text[:200])
    case.validate_response(resp)
