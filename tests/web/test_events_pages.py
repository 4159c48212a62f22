"""相談会 mode pages: the evening set up, walk-ins saved through intake, the board, the report."""

import csv
import io
import re

from sqlalchemy import select

from caseapp.models import AuditEntry, Consultation, Event

HX = {"HX-Request": "true"}


def _create_event(console, **extra):
    data = {"name": "今夜はあんしんしナイト！", "date": "令和8年11月30日", "starts": "18:00",
            "ends": "21:00", "venue": "市民会館", "partners": ["houkatsu", "houterasu"],
            "specialists-houterasu": "弁護士 1名、司法書士 1名", **extra}
    return console.post("/events/", data, token_from="/events/")


def _event(session) -> Event:
    return session.scalars(select(Event)).one()


def test_create_an_evening_with_the_partners_present(console, session):
    console.sign_in("suzuki")
    page = console.get("/events/").get_data(as_text=True)
    assert "相談会を登録する" in page and "地域包括支援センター" in page
    response = _create_event(console)
    event = _event(session)
    assert response.status_code == 302
    assert response.location == f"/events/{event.id}"
    assert event.date.isoformat() == "2026-11-30"  # 和暦 accepted
    assert event.partners == ["houkatsu", "houterasu"]
    assert event.specialists == {"houterasu": ["弁護士 1名", "司法書士 1名"]}
    assert event.starts_at.isoformat().startswith("2026-11-30T09:00")  # 18:00 in Tokyo
    page = console.get(f"/events/{event.id}").get_data(as_text=True)
    assert "今夜はあんしんしナイト！" in page and "弁護士 1名、司法書士 1名" in page
    assert "まだ受付はありません" in page


def test_a_refused_event_form_answers_422_with_the_services_messages(console, session):
    console.sign_in("suzuki")
    response = _create_event(console, name="", date="令和8年13月40日",
                             partners=["houkatsu", "no_such_partner"])
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "名称を入力してください" in page
    assert 'aria-invalid="true"' in page
    assert session.scalars(select(Event)).first() is None
    response = _create_event(console, partners=["no_such_partner"])
    assert response.status_code == 422
    assert "連携機関 no_such_partner は登録されていません" in response.get_data(as_text=True)


def test_tick_the_partners_present_on_the_evening(console, session):
    console.sign_in("suzuki")
    _create_event(console, partners=["houkatsu"])
    event = _event(session)
    response = console.post(f"/events/{event.id}/partners",
                            {"partners": ["houkatsu", "hellowork"],
                             "specialists-hellowork": "就労支援員"},
                            token_from=f"/events/{event.id}")
    assert response.status_code == 302
    session.expire_all()
    assert _event(session).partners == ["houkatsu", "hellowork"]
    assert _event(session).specialists == {"hellowork": ["就労支援員"]}


def test_a_walk_in_is_saved_through_intake_anonymous_unless_named(console, session):
    console.sign_in("suzuki")
    _create_event(console)
    event = _event(session)
    path = f"/events/{event.id}"
    response = console.post(f"{path}/walk-ins", {"topics": ["debt", "housing"]},
                            token_from=path, headers=HX)
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "queue-changed"
    assert "1 番目の方を受け付けました" in response.get_data(as_text=True)
    response = console.post(f"{path}/walk-ins", {"topics": ["elder_care"], "urgency": "urgent",
                                                 "name": "山田 花子"}, token_from=path,
                            headers=HX)
    assert "2 番目の方を受け付けました" in response.get_data(as_text=True)
    first, second = session.scalars(select(Consultation).order_by(Consultation.id)).all()
    assert first.client_id is None and first.channel == "event" and first.event_id == event.id
    assert first.topics == ["debt", "housing"]
    assert first.referrals  # routed and referred as the API would
    assert second.client.name == "山田 花子" and second.urgency == "urgent"

    board = console.get(f"{path}/queue").get_data(as_text=True)
    assert "匿名" in board and "山田 花子" in board
    assert "債務について" in board and "介護のこと" in board and "至急" in board
    assert board.index("匿名") < board.index("山田 花子")  # arrival order


def test_a_walk_in_without_javascript_goes_back_to_the_tablet_view(console, session):
    console.sign_in("suzuki")
    _create_event(console)
    event = _event(session)
    response = console.post(f"/events/{event.id}/walk-ins", {"topics": ["no_food"]},
                            token_from=f"/events/{event.id}")
    assert response.status_code == 302
    assert response.location == f"/events/{event.id}?show=intake"
    page = console.get(response.location).get_data(as_text=True)
    assert "1 番目の方を受け付けました" in page


def test_a_refused_walk_in_answers_422_and_saves_nothing(console, session):
    console.sign_in("suzuki")
    _create_event(console)
    event = _event(session)
    response = console.post(f"/events/{event.id}/walk-ins",
                            {"topics": ["astrology"], "name": "x" * 201},
                            token_from=f"/events/{event.id}", headers=HX)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    # The API's messages for the same fields.
    assert "次のいずれかを指定してください" in page and "200 文字（個）以下にしてください" in page
    assert session.scalars(select(Consultation)).first() is None


def test_the_routing_preview_is_the_rules_dry_run(console, session):
    console.sign_in("suzuki")
    _create_event(console)
    event = _event(session)
    response = console.post(f"/events/{event.id}/preview", {"topics": ["debt"]},
                            token_from=f"/events/{event.id}", headers=HX)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "つなぎ先の見込み" in page and "法テラス" in page and "今夜参加" in page
    assert session.scalars(select(Consultation)).first() is None  # nothing stored


def test_the_board_answers_204_until_its_stamp_moves(console, session):
    console.sign_in("suzuki")
    _create_event(console)
    event = _event(session)
    path = f"/events/{event.id}"
    board = console.get(f"{path}/queue").get_data(as_text=True)
    stamp = re.search(r'stamp=([^"&]+)', board).group(1)
    listed = len(session.scalars(select(AuditEntry).where(
        AuditEntry.action == "list", AuditEntry.resource_type == "consultation")).all())
    assert console.get(f"{path}/queue?stamp={stamp}").status_code == 204
    # An unchanged board costs no audited read of the queue.
    assert len(session.scalars(select(AuditEntry).where(
        AuditEntry.action == "list", AuditEntry.resource_type == "consultation")).all()) == listed
    console.post(f"{path}/walk-ins", {"topics": ["debt"]}, token_from=path, headers=HX)
    response = console.get(f"{path}/queue?stamp={stamp}")
    assert response.status_code == 200 and "債務について" in response.get_data(as_text=True)


def test_record_the_team_and_its_outcome_in_two_taps(console, session):
    console.sign_in("suzuki")
    _create_event(console)
    event = _event(session)
    path = f"/events/{event.id}"
    console.post(f"{path}/walk-ins", {"topics": ["debt"]}, token_from=path, headers=HX)
    consultation = session.scalars(select(Consultation)).one()
    team_path = f"{path}/consultations/{consultation.id}/team"
    response = console.post(team_path, {"outcome": "referred"}, token_from=path, headers=HX)
    assert response.status_code == 422
    assert "対応した連携機関を選んでください" in response.get_data(as_text=True)
    response = console.post(team_path, {"partners": ["houterasu"], "outcome": "referred"},
                            token_from=path, headers=HX)
    assert response.status_code == 200
    board = response.get_data(as_text=True)
    assert "つなぎ" in board and "対応済" in board
    session.expire_all()
    team = session.scalars(select(Consultation)).one().team
    assert team.partners == ["houterasu"] and team.outcome == "referred"
    # A partner not present that evening is refused with the service's message.
    response = console.post(team_path, {"partners": ["hellowork"], "outcome": "follow_up"},
                            token_from=path, headers=HX)
    assert response.status_code == 422
    assert "この相談会（今夜はあんしんしナイト！）に参加していません" in response.get_data(
        as_text=True)


def test_the_after_event_report_page_and_its_csv(console, session):
    console.sign_in("suzuki")
    _create_event(console)
    event = _event(session)
    path = f"/events/{event.id}"
    console.post(f"{path}/walk-ins", {"topics": ["debt"]}, token_from=path, headers=HX)
    console.post(f"{path}/walk-ins", {"topics": ["debt", "housing"], "name": "山田 花子"},
                 token_from=path, headers=HX)
    page = console.get(f"{path}/report").get_data(as_text=True)
    assert "実施報告" in page and "債務について" in page
    assert re.search(r"相談件数</th><td class=\"num\">2<", page)
    response = console.get(f"{path}/report.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert ["相談件数", "total", "相談件数", "2", ""] in rows
    assert ["相談件数", "anonymous", "匿名", "1", ""] in rows


def test_an_unknown_evening_is_a_japanese_404(console):
    console.sign_in("suzuki")
    response = console.get("/events/999")
    assert response.status_code == 404
    assert "指定された相談会または相談は登録されていません" in response.get_data(as_text=True)


def test_partner_users_cannot_open_the_evening(console):
    console.sign_in("houkatsu-tanaka")
    assert console.get("/events/").status_code == 403
