"""Shared fixtures: an app per test on SQLite (and again on PostgreSQL when
TEST_DATABASE_URL is set), clients that speak CSRF and htmx, people in workspaces,
and a live server for end-to-end and browser tests."""
from __future__ import annotations

import base64
import contextlib
import os
import re
import socket
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import jinja2
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.extensions import db

TEST_TOKEN_KEYS = "t1:" + base64.b64encode(b"\x01" * 32).decode()
TEST_SECRET_KEY = "test-secret-key-not-for-production-0123456789"
TEST_CLIENT_KEY = "test_client_key"
TEST_CLIENT_SECRET = "test_client_secret_value"
PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
# One schema per pytest process, so parallel runs on one PostgreSQL never collide.
PG_SCHEMA = f"t_{os.getpid()}_{uuid.uuid4().hex[:6]}"


def _compile_each_url_builder_once() -> None:
    """Nearly every test builds an app, and werkzeug compiles two Python functions (from an
    AST) for each of its ~70 URL rules every time: ~35 ms of the ~40 ms create_app takes.
    A builder depends only on the rule's text, its defaults and converters, and whether it
    appends unknown arguments; it reaches its Rule through its first argument (`.self`), so
    one function can serve every app's copy of the same rule. Compiled once per process."""
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder
    compiled: dict = {}

    def cached(self, append_unknown: bool = True):
        key = (self.rule, self.subdomain, self.host, self.map.host_matching, tuple(self._trace),
               repr(sorted((self.defaults or {}).items())),
               tuple(sorted((name, type(c), repr({k: v for k, v in vars(c).items() if k != "map"}))
                            for name, c in self._converters.items())), append_unknown)
        if key not in compiled:
            compiled[key] = compile_builder(self, append_unknown)
        return compiled[key]

    Rule._compile_builder = cached


_compile_each_url_builder_once()


def _parse_each_rule_once() -> None:
    """Werkzeug also parses every rule of every app again (~10 ms of each create_app): its
    parts, trace, converters and arguments depend only on the rule's text, host or subdomain,
    slash merging, defaults and the map's converter classes, so a later app's copy takes the
    first copy's.
    Converters are shared between apps' maps; werkzeug's own and the app's `id` converter
    keep no per-map state when matching or building. Parsed once per process."""
    from werkzeug.routing.rules import Rule

    compile_rule = Rule.compile
    parsed: dict = {}

    def cached(self) -> None:
        key = (self.rule, self.subdomain, self.host, self.map.host_matching, self.merge_slashes,
               repr(sorted((self.defaults or {}).items())), frozenset(self.map.converters.items()))
        hit = parsed.get(key)
        if hit is None:
            compile_rule(self)
            parsed[key] = (self._parts, tuple(self._trace), self._converters, frozenset(self.arguments))
            return
        parts, trace, converters, arguments = hit
        self._parts, self._trace, self._converters = parts, list(trace), converters
        self.arguments = set(arguments)
        self._build = self._compile_builder(False).__get__(self, None)
        self._build_unknown = self._compile_builder(True).__get__(self, None)

    Rule.compile = cached


_parse_each_rule_once()


class _SharedBytecode(jinja2.BytecodeCache):
    """Compiled templates kept in memory for every app this process builds. Each test's app
    has its own Jinja environment, which compiled each template it renders from source
    again (about a fifth of an integration test's time). Jinja keys the cache by template
    name and checks each entry against the template's source, so an edited template is
    compiled afresh; production builds one app per process and gains nothing from this."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        code = self.compiled.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": _SharedBytecode()}


def _no_fsync(dbapi_conn, _record) -> None:
    """SQLite commits that do not wait for the disk (PRAGMA synchronous=OFF): a test database
    needs no crash durability, as with synchronous_commit=off on PostgreSQL below."""
    dbapi_conn.execute("PRAGMA synchronous=OFF")


def _one_engine_per_database() -> None:
    """Every test builds its own app, and Flask-SQLAlchemy gave each app a new engine: a new
    SQLAlchemy statement cache, so every query of every test was compiled again (sharing
    engines took 16% off the integration tests' time). Apps on the same URL with the same
    options now share one engine for the process; the SQLite tests reuse one file per
    process (app_factory) so their URL repeats, and app_factory's teardown disposes of
    SQLite connections (the next test replaces the file) but keeps PostgreSQL's.
    The app's own engine listeners are module functions added once (app/__init__.py)."""
    from flask_sqlalchemy.extension import SQLAlchemy

    make_engine = SQLAlchemy._make_engine
    engines: dict = {}

    def shared(self, bind_key, options, app):
        url = options["url"]
        url = url.render_as_string(hide_password=False) if isinstance(url, sa.engine.URL) else str(url)
        key = (bind_key, url, repr(sorted((k, repr(v)) for k, v in options.items() if k != "url")))
        if key not in engines:
            engines[key] = make_engine(self, bind_key, options, app)
            if engines[key].dialect.name == "sqlite":
                sa.event.listen(engines[key], "connect", _no_fsync)
        return engines[key]

    SQLAlchemy._make_engine = shared


_one_engine_per_database()


def base_overrides(tmp_path: Path, **extra) -> dict:
    overrides = {
        "APP_ENV": "testing",
        "SECRET_KEY": TEST_SECRET_KEY,
        "TOKEN_KEYS": TEST_TOKEN_KEYS,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'test.sqlite3'}",
        "SCHEDULER_ENABLED": "false",
        # Unit and integration tests talk to "real" TikTok URLs that requests-mock
        # intercepts; the live server (below) turns the sandbox on instead.
        "TIKTOK_CLIENT_KEY": TEST_CLIENT_KEY,
        "TIKTOK_CLIENT_SECRET": TEST_CLIENT_SECRET,
        "TIKTOK_ADS_APP_ID": "test_ads_app",
        "TIKTOK_ADS_SECRET": "test_ads_secret_value",
        "TIKTOK_REDIRECT_URI": "https://app.logic-target.test/tiktok/auth/callback",
        "TIKTOK_SANDBOX": "false",
        "MAIL_SERVER": None,
        "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # the real default is scrypt; tests need speed
        "SANDBOX_STATE_PATH": None,
        # Tests see every render (query budgets, fresh figures); test_dashboard_cache.py turns it on.
        "FRAGMENT_CACHE_SECONDS": 0,
    }
    overrides.update(extra)
    return overrides


def pg_url_with_schema() -> str:
    """This process's schema; and commits that do not wait for the WAL to reach the disk
    (synchronous_commit=off): a test database needs no crash durability, and without it
    every commit of every PostgreSQL test waited on an fsync."""
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{PG_SCHEMA}%20-csynchronous_commit%3Doff"


@pytest.fixture(scope="session")
def pg_schema():
    """Create this process's schema once and drop it at the end."""
    if not PG_URL:
        if os.environ.get("CI"):  # .ci/run starts PostgreSQL: there, missing it is a failure
            pytest.fail("TEST_DATABASE_URL not set in CI")
        pytest.skip("TEST_DATABASE_URL not set")
    url = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{PG_SCHEMA}"'))
    yield PG_SCHEMA
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{PG_SCHEMA}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_backend(request):
    return request.param


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> bytes:
    """An SQLite database file with every table created, made once per process: a test's
    database starts as a copy of it (creating the tables costs far more than copying)."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    app = create_app(base_overrides(folder))
    with app.app_context():
        db.create_all()
        db.engine.dispose()  # checkpoints the WAL into the file
    path = folder / "test.sqlite3"
    assert not Path(f"{path}-wal").exists()
    return path.read_bytes()


@pytest.fixture(scope="session")
def process_sqlite_path(tmp_path_factory) -> Path:
    """The SQLite file app_factory's apps use, one per test process, copied afresh from the
    template for each test: one URL for the whole process, so its apps share one engine."""
    return tmp_path_factory.mktemp("process-db") / "test.sqlite3"


def reset_sqlite_database(path: Path, template: bytes) -> None:
    """`path` made a fresh copy of the template (0600), with no WAL left from before."""
    from app.private_files import write_private

    for leftover in (Path(f"{path}-wal"), Path(f"{path}-shm"), path):
        leftover.unlink(missing_ok=True)
    write_private(path, template)


def new_sqlite_database(tmp_path: Path, template: bytes) -> bool:
    """Seed `tmp_path`'s default database (base_overrides) from the template, created 0600
    like the app creates it; False when that file exists already (a second app on it)."""
    path = tmp_path / "test.sqlite3"
    if path.exists():
        return False
    reset_sqlite_database(path, template)
    return True


def empty_tables() -> None:
    """PostgreSQL: every model table emptied and every sequence of the schema restarted, as
    TRUNCATE … RESTART IDENTITY would, in one round trip (DELETE on small tables is many
    times faster than TRUNCATE, which rewrites each table's files)."""
    deletes = "; ".join(f'DELETE FROM "{t.name}"' for t in reversed(db.metadata.sorted_tables))
    restart = ("SELECT setval(c.oid::regclass, 1, false) FROM pg_class c "
               "WHERE c.relkind = 'S' AND c.relnamespace = current_schema()::regnamespace")
    with db.engine.begin() as conn:
        conn.exec_driver_sql(f"{deletes}; {restart}")


def _pg_tables_all_there() -> bool:
    """This process's schema holds exactly the models' tables (an earlier test made them and
    only emptied them): one query, where create_all would ask for each table in turn."""
    found = db.session.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars()
    db.session.remove()
    return set(found) == set(db.metadata.tables)


@pytest.fixture
def app_factory(tmp_path, request, sqlite_template, process_sqlite_path):
    """Build apps with extra overrides; tables are created and emptied around each test.
    Every app of one test shares its database: this process's SQLite file (copied from the
    template when the test makes its first app) or this process's PostgreSQL schema."""
    made, fresh = [], []

    def make(backend: str = "sqlite", **extra):
        overrides = base_overrides(tmp_path, **extra)
        ready = False
        if backend == "postgresql":
            request.getfixturevalue("pg_schema")
            overrides["DATABASE_URL"] = pg_url_with_schema()
        elif "DATABASE_URL" not in extra:
            overrides["DATABASE_URL"] = f"sqlite:///{process_sqlite_path}"
            if not fresh:
                reset_sqlite_database(process_sqlite_path, sqlite_template)
                fresh.append(process_sqlite_path)
            ready = True
        app = create_app(overrides)
        if not ready:
            with app.app_context():
                if backend != "postgresql" or not _pg_tables_all_there():
                    db.create_all()
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            if db.engine.dialect.name == "postgresql":
                empty_tables()  # its connections stay open for the next test: this process's schema
            else:
                db.engine.dispose()  # the next test's copy of the file replaces this one


@pytest.fixture
def app(app_factory, db_backend):
    app = app_factory(db_backend)
    app.test_client_class = Client
    with app.app_context():
        yield app


class Client(FlaskClient):
    """A test client that can fetch a CSRF token the way a browser page would.

    Each request runs in its own app context, as in production: the test's context
    is hidden from the request (else `g` and the DB session would be shared and
    hide bugs), then restored with every loaded object expired so tests see what
    the request committed."""

    _csrf: str | None = None

    def open(self, *args, **kwargs):
        from flask.globals import _cv_app

        if not args or (isinstance(args[0], str) and "://" not in args[0]):
            # A path alone goes to http://localhost, not to SERVER_NAME (APP_BASE_URL's host
            # and scheme): the app answers on any Host, and tests speak plain http.
            kwargs.setdefault("base_url", "http://localhost")
        outer = _cv_app.get(None)
        if outer is None or outer.app is not self.application:
            return super().open(*args, **kwargs)
        token = _cv_app.set(None)  # hide the test's context (popping it would tear down its session)
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_app.reset(token)
            db.session.expire_all()


    def session_transaction(self, *args, **kwargs):
        # The same host `open` uses, so the session read here is the one requests carry.
        kwargs.setdefault("base_url", "http://localhost")
        return super().session_transaction(*args, **kwargs)

    def csrf_token(self, path: str | None = None) -> str:
        """The session's CSRF token: read from `path`'s meta tag when given, else made the way
        the page's meta tag makes it (Flask-WTF's generate_csrf on this client's session),
        which saves fetching and rendering a page for every form a test posts."""
        if self._csrf is None:
            if path is None:
                from flask_wtf.csrf import generate_csrf

                self._csrf = self.in_request(generate_csrf)
            else:
                html = self.get(path, follow_redirects=True).get_data(as_text=True)
                m = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
                assert m, f"no csrf meta tag on {path}"
                self._csrf = m.group(1)
        return self._csrf

    def in_request(self, work):
        """work() run inside a request of this client (its cookies, address and user agent, its
        own app context and database session) with what it writes to the session kept in the
        cookie, as a request's view would; the test's loaded objects are expired afterwards."""
        from flask.ctx import RequestContext
        from flask.globals import _cv_app
        from flask.testing import EnvironBuilder

        builder = EnvironBuilder(self.application, base_url="http://localhost", environ_base=self.environ_base)
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        with self.session_transaction() as session:
            request = RequestContext(self.application, environ, session=session)
            outer = _cv_app.set(None)  # the request gets its own app context, as in Client.open
            try:
                with request:
                    return work()
            finally:
                _cv_app.reset(outer)
                db.session.expire_all()

    def reset_csrf(self) -> None:
        self._csrf = None

    def post_form(self, path: str, data: dict | None = None, **kw):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(path, data=data, **kw)

    def hx(self, method: str, path: str, **kw):
        """An htmx request: HX-Request plus the CSRF header from the page's meta tag."""
        headers = {"HX-Request": "true", "X-CSRFToken": self.csrf_token(), **kw.pop("headers", {})}
        return self.open(path, method=method.upper(), headers=headers, **kw)


@pytest.fixture
def client(app) -> Client:
    return app.test_client()


@dataclass
class People:
    workspace: object
    other_workspace: object
    agency: object
    admin: object
    creator: object
    creator2: object
    outsider: object  # client admin of the other workspace


PASSWORD = "correct horse battery"


_PASSWORD_HASHES: dict[str, str] = {}


@pytest.fixture
def people(app) -> People:
    """Two workspaces and their people, as accounts.create_user would make them, in three
    round trips: nearly every test starts here, and user by user it took ~20 (accounts'
    own tests cover create_user itself). One password hash per process serves them all."""
    from app.models import Membership, User
    from app.services import accounts

    ws = accounts.get_or_create_workspace("Brass Studio", timezone="Europe/London")
    other = accounts.get_or_create_workspace("Other Client")
    method = app.config["PASSWORD_HASH_METHOD"]
    if method not in _PASSWORD_HASHES:
        probe = User()
        probe.set_password(PASSWORD)
        _PASSWORD_HASHES[method] = probe.password_hash
    cast = {"agency": ("agency@example.com", "agency", None), "admin": ("admin@example.com", "client_admin", ws),
            "creator": ("creator@example.com", "creator", ws), "creator2": ("creator2@example.com", "creator", ws),
            "outsider": ("outsider@example.com", "client_admin", other)}
    users = {key: User(email=email, name=email.split("@")[0], password_hash=_PASSWORD_HASHES[method],
                       is_agency=role == "agency") for key, (email, role, _) in cast.items()}
    db.session.add_all(users.values())
    db.session.flush()
    db.session.add_all([Membership(user_id=users[key].id, workspace_id=w.id, role=role)
                        for key, (_, role, w) in cast.items() if w is not None])
    db.session.commit()
    return People(workspace=ws, other_workspace=other, **users)


def without_csrf(resp) -> str:
    """The page with its CSRF token blanked: the token is signed with the second it was made in,
    so two identical pages a second apart differ there and nowhere else."""
    html = resp.get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)
    return html.replace(token, "CSRF")


def login_with_form(client: Client, user, password: str = PASSWORD):
    """Sign in by posting the sign-in form, as a person does; returns the response."""
    client.reset_csrf()
    resp = client.post_form("/login", {"email": user.email, "password": password})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
    client.reset_csrf()  # the session is new after sign-in
    return resp


def login(client: Client, user, password: str = PASSWORD) -> None:
    """Sign `user` in as the sign-in form does after checking the password (auth.sign_in, in
    a request of this client), without fetching and posting the form: most tests start
    signed in, and that round trip cost each of them more than the rest of its setup. The
    form itself is tested in test_auth.py and by the browser tests; a person with two-factor
    sign-in or a workspace requiring it, or whom accounts.authenticate refuses (a disabled
    account, a wrong password), goes through the form."""
    from flask_wtf.csrf import generate_csrf

    from app.services import accounts, two_factor
    from app.web import auth

    def sign_in() -> str | None:
        person = accounts.authenticate(user.email, password)  # the form's own check
        if person is None or person.two_factor_enabled or two_factor.setup_required(person):
            return None
        auth.sign_in(person)
        db.session.commit()
        return generate_csrf()  # the new session's token, as the next page's meta tag would carry

    client.reset_csrf()
    client._csrf = client.in_request(sign_in)
    if client._csrf is None:
        login_with_form(client, user, password)


@pytest.fixture
def login_as(client, people):
    """login_as("admin") signs the test client in as that person and returns them."""

    def _login(who: str):
        user = getattr(people, who)
        login(client, user)
        return user

    return _login


# ---------------------------------------------------------------- live server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(server) -> None:
    """serve_forever, checking for shutdown() every 20 ms instead of every 0.5 s: stopping
    a server otherwise costs each test that starts one half a second."""
    server.serve_forever(poll_interval=0.02)


class LiveServer:
    def __init__(self, app, port: int):
        from werkzeug.serving import make_server

        self.app = app
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._server = make_server("127.0.0.1", port, app, threaded=True)
        self._thread = threading.Thread(target=serve, args=(self._server,), daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._thread.join(5)


@contextlib.contextmanager
def running_app(tmp_path: Path, sqlite_template: bytes | None = None, **extra):
    """The whole app on a real loopback port (file SQLite, sandbox on the same origin);
    `extra` are more settings (SMTP, TIKTOK_PKCE…). Stopped and disposed on exit."""
    port = free_port()
    seeded = sqlite_template is not None and new_sqlite_database(tmp_path, sqlite_template)
    app = create_app(base_overrides(
        tmp_path, APP_BASE_URL=f"http://127.0.0.1:{port}", TIKTOK_SANDBOX="true", TIKTOK_CLIENT_KEY=None,
        TIKTOK_CLIENT_SECRET=None, TIKTOK_ADS_APP_ID=None, TIKTOK_ADS_SECRET=None, TIKTOK_REDIRECT_URI=None,
        **extra,
    ))
    if not seeded:
        with app.app_context():
            db.create_all()
    server = LiveServer(app, port).start()
    try:
        yield server
    finally:
        server.stop()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def live_server(tmp_path, sqlite_template):
    """The whole app on a real loopback port (file SQLite, sandbox on the same origin)."""
    with running_app(tmp_path, sqlite_template) as server:
        yield server


# ---------------------------------------------------------------- SMTP


class SmtpRecorder:
    """A real SMTP server on loopback (aiosmtpd). Recipients starting with "refuse"
    get 550, "busy" get 451; `fail_next_data` makes the next DATA answer 451."""

    def __init__(self):
        self.messages: list = []
        self.fail_next_data = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refuse"):
            return "550 5.1.1 no such user"
        if address.startswith("busy"):
            return "451 4.3.0 try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.fail_next_data:
            self.fail_next_data -= 1
            return "451 4.3.0 temporary failure"
        import email

        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    handler = SmtpRecorder()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.port = port
    handler.config = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(port), "MAIL_USE_TLS": "false"}
    yield handler
    controller.stop()
