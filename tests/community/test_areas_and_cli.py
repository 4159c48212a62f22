"""Areas: the shipped seeds, `caseapp areas import`, `caseapp members create`, the migration."""

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy import select

from caseapp.extensions import db
from caseapp.jp import lg_code
from caseapp.models import Area
from caseapp.services.community import areas

HEADER = "level,code,name,parent,hub,visit_interval_days,meetings_per_year,address_keys\n"


def test_municipality_codes_carry_their_check_digit():
    assert all(lg_code.is_valid(c) for c in ("392049", "394017", "394106", "390003"))
    assert not lg_code.is_valid("394107") and not lg_code.is_valid("39410")


def test_the_seeds_give_hidaka_22_districts_and_nakatosa_its_three_centres(seeded):
    areas.seed(seeded, "hidaka")
    areas.seed(seeded, "nakatosa")
    again = areas.seed(seeded, "hidaka")
    assert again.added == []
    small = seeded.scalars(select(Area).where(Area.code.like("394106-S%"))).all()
    assert len(small) == 22 and all(a.meetings_per_year == 2 for a in small)
    assert all(a.meeting_due_at is not None for a in small)
    hubs = seeded.scalars(select(Area.hub).where(Area.code.like("394017-D%"))
                          .order_by(Area.code)).all()
    assert hubs == ["あったかふれあいセンター寄り家", "あったかふれあいセンターまんまる",
                    "あったかふれあいセンターほのぼの大野見"]
    hidaka = seeded.scalar(select(Area).where(Area.code == "394106"))
    assert [a.code for a in areas.ancestors(hidaka)] == ["394106", "390003-chuonishi", "390003"]


def test_an_import_replaces_the_placeholder_names_and_adds_address_keys(app, seeded, tmp_path):
    areas.seed(seeded, "hidaka")
    good = tmp_path / "hidaka.csv"
    good.write_text(HEADER + "district,394106-D00,日下地区,394106,,,,\n"
                    "small_area,394106-S01,本郷,394106-D00,,,,本郷;日下\n"
                    "small_area,394106-S23,新しい地区,394106-D00,,,2,\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["areas", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert "areas added: 1, updated: 2" in result.output
    seeded.expire_all()
    first = seeded.scalar(select(Area).where(Area.code == "394106-S01"))
    assert first.name == "本郷" and [k.key for k in first.address_keys] == ["日下", "本郷"]

    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "small_area,394106-S02,二番,394106-XX,,,,\n"
                   "small_area,394017-S101,よそ,394017-D1,,,,\n"
                   "municipality,394107,誤り村,390003-chuonishi,,,,\n", encoding="utf-8")
    refused = app.test_cli_runner().invoke(args=["areas", "import", str(bad)])
    assert refused.exit_code != 0
    assert "2行目" in refused.output and "394106-XX" in refused.output
    assert "4行目" in refused.output
    seeded.expire_all()
    assert seeded.scalar(select(Area.name).where(Area.code == "394106-S02")) == \
        "民生委員担当 第2地区"  # all rows or none


def test_members_create_prints_a_token_that_reads_the_area(app, api, seeded):
    areas.seed(seeded, "hidaka")
    result = app.test_cli_runner().invoke(args=[
        "members", "create", "高橋 民子", "--role", "minsei", "--area", "394106-S03",
        "--term-from", "2025-12-01", "--term-to", "2028-11-30"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    answer = api.as_(token).get("/api/v1/watch")
    assert answer.status_code == 200 and answer.json["items"] == []
    wrong = app.test_cli_runner().invoke(args=[
        "members", "create", "誰か", "--role", "minsei", "--area", "394106"])
    assert wrong.exit_code != 0 and "小地域" in wrong.output


def test_seed_commands_load_the_areas(app, seeded):
    runner = app.test_cli_runner()
    # The Nankoku seed brought the prefecture, its three blocks and Nankoku; the village adds
    # itself and its 23 areas, with its own partners and rule set.
    output = runner.invoke(args=["seed", "hidaka"]).output
    assert "areas added: 24" in output and "rule set: v1 adopted" in output
    assert "chuonishi_hokenjo" in output
    assert "areas added: 24" in runner.invoke(args=["seed", "nakatosa"]).output
    assert "areas added: 0" in runner.invoke(args=["seed", "hidaka"]).output


def test_the_migration_goes_down_and_up_again(app):
    with app.app_context():
        downgrade(revision="0011")
        tables = sa.inspect(db.engine).get_table_names()
        assert "areas" not in tables and "watch_entries" not in tables
        upgrade()
        tables = sa.inspect(db.engine).get_table_names()
        assert {"areas", "community_members", "watch_entries", "watch_visits",
                "community_meetings", "meeting_reviews", "plan_items", "plan_evaluations",
                "community_tasks", "watch_disclosures", "area_address_keys"} <= set(tables)
        db.session.remove()
