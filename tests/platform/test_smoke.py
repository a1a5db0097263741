def test_login_page_is_served_in_russian(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert "Войти" in response.get_data(as_text=True)


def test_admin_logs_in_and_sees_the_users_page(client, make_user):
    make_user("admin", username="boss")
    client.login("boss")
    response = client.get("/admin/users/")
    assert response.status_code == 200
    assert "boss" in response.get_data(as_text=True)
