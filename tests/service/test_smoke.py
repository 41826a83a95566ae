from tests.service.notice_data import notice


async def test_publish_and_fetch(live):
    r = await live.client.post("/api/v1/notices", json=notice(), headers=live.auth("officer"))
    assert r.status_code == 201, r.text
    nid = r.json()["notice_id"]
    r = await live.client.get(f"/api/v1/notices/{nid}", headers=live.auth("auditor"))
    assert r.status_code == 200, r.text
    assert r.json()["notice"]["items"][0]["control_entry"] == "5A001.j"
