"""The floor for the intake benchmark: bare Flask + marshmallow + one INSERT and commit.

It is what any intake endpoint must at least do on the same stack; caseapp's figure is
read against it.
"""

import os

import sqlalchemy as sa
from flask import Flask, request
from marshmallow import Schema, ValidationError, fields

engine = sa.create_engine(os.environ["DATABASE_URL"], pool_size=8, pool_pre_ping=True)
metadata = sa.MetaData()
floor = sa.Table("bench_floor", metadata,
                 sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("channel", sa.String(20)),
                 sa.Column("summary", sa.Text),
                 sa.Column("topics", sa.JSON))
metadata.create_all(engine)


class Body(Schema):
    channel = fields.String(required=True)
    summary = fields.String(load_default="")
    topics = fields.List(fields.String(), load_default=list)
    client = fields.Dict()
    facts = fields.Dict()
    consent = fields.Dict()
    urgency = fields.String()


app = Flask(__name__)


@app.post("/floor")
def insert():
    try:
        data = Body().load(request.get_json())
    except ValidationError as exc:
        return {"errors": exc.messages}, 422
    with engine.begin() as conn:
        new_id = conn.execute(floor.insert().values(
            channel=data["channel"], summary=data["summary"], topics=data["topics"])
            .returning(floor.c.id)).scalar_one()
    return {"id": new_id}, 201
