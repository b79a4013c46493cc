def test_login_page_renders(client):
    r = client.get("/login")
    assert r.status_code == 200
    assert b"Sign in" in r.data
