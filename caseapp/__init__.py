"""caseapp: one-stop welfare consultation counter (断らない・迷子にさせない)."""

from flask import Flask

from caseapp.config import PROJECT_ROOT, Config, from_env


def create_app(config: Config | None = None) -> Flask:
    from flask_sqlalchemy.session import Session

    from caseapp import db_setup
    from caseapp.api import register_api
    from caseapp.extensions import db, migrate
    from caseapp.services.core import audit, scope
    from caseapp.services.delivery import outbox
    from caseapp.tasks import init_celery

    config = config or from_env()
    app = Flask(__name__, instance_path=str(config.instance_path))
    app.config.update(config.flask_mapping())
    app.json.ensure_ascii = False
    db_setup.install()
    db.init_app(app)
    audit.install(Session)
    outbox.install(Session)
    scope.install(Session)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True,
                     compare_type=True)
    register_api(app)
    from caseapp.web import register_web

    register_web(app)
    init_celery(app)
    from caseapp import cli

    cli.register(app)
    return app


__all__ = ["create_app"]
