"""`mitid-gateway`: serve, migrate, seed-demo, token, tokens, mail, export-schema, roles-doc."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid

from app.config import Settings, UnsafeSettings, refuse_unsafe
from app.domain.common.principal import Role


def _services(settings: Settings):  # type: ignore[no-untyped-def]
    from app.bootstrap import build_services

    return build_services(settings)


async def _migrate(settings: Settings) -> None:
    from app.entrypoints.http.pki import ensure_authority
    from app.persistence.migrate import upgrade

    services = _services(settings)
    try:
        await upgrade(services.engine)
        await ensure_authority(services)  # the issuing CA exists from the first migrate on
    finally:
        await services.engine.dispose()


async def _seed(settings: Settings, if_empty: bool) -> bool:
    from app.entrypoints.cli.seed import database_is_empty, seed_demo

    services = _services(settings)
    try:
        if if_empty and not await database_is_empty(services):
            return False
        await seed_demo(services)
        return True
    finally:
        await services.engine.dispose()


async def _token(settings: Settings, org: str, role: Role, user: str | None) -> str:
    from app.adapters.jwt import sign_token
    from app.entrypoints.cli.seed import person_with_role

    if user is not None:
        user_id = uuid.UUID(user)
    else:
        services = _services(settings)
        try:
            found = await person_with_role(services, org, role)
        finally:
            await services.engine.dispose()
        if found is None:
            raise SystemExit(f"No person holds {role.value} in organisation {org}; run `mitid-gateway seed-demo`")
        user_id = found
    return sign_token(settings, user_id, org, [role])


def served_base_url(host: str, port: int) -> str:
    """The base of links in mails when PUBLIC_BASE_URL is not set: the address `serve` listens on
    (a wildcard address as 127.0.0.1, the one a browser on this machine can open)."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="mitid-gateway", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the API (GraphiQL at /graphql)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    sub.add_parser("migrate", help="upgrade the database to the newest schema")
    seed = sub.add_parser("seed-demo", help="create the demo organisations")
    seed.add_argument("--if-empty", action="store_true", help="only when the database has no organisation")
    token = sub.add_parser("token", help="print a bearer token")
    token.add_argument("--org", required=True, help="CVR")
    token.add_argument("--role", required=True, choices=[r.value for r in Role])
    token.add_argument("--user", help="user UUID (default: the seeded person with that role)")
    sub.add_parser("tokens", help="print usage lines with tokens for the demo organisation's people")
    mail = sub.add_parser("mail", help="list the local Maildir (MAIL_DIR) newest first, with the links of each mail")
    mail.add_argument("--last", type=int, default=10, metavar="N", help="how many (default 10; 0 for all)")
    mail.add_argument("--to", metavar="ADDRESS", help="only mail to this address")
    sub.add_parser("export-schema", help="print the GraphQL SDL")
    sub.add_parser("roles-doc", help="print the role matrix (docs/roles.md) from the policy table")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.command in ("serve", "migrate", "seed-demo", "token", "tokens"):
            refuse_unsafe(settings)
    except (UnsafeSettings, ValueError) as exc:
        print(f"mitid-gateway {args.command}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if args.command == "seed-demo" and settings.production:
        print("mitid-gateway seed-demo: demo data is for development (GATEWAY_ENV=production)", file=sys.stderr)
        raise SystemExit(2)

    if args.command == "export-schema":
        from app.schema import schema

        sys.stdout.write(schema.as_str() + "\n")
    elif args.command == "roles-doc":
        from app.schema import schema
        from app.schema.runtime.roles_doc import render

        sys.stdout.write(render(schema) + "\n")
    elif args.command == "migrate":
        asyncio.run(_migrate(settings))
        print(f"database migrated: {settings.database_url}", file=sys.stderr)
    elif args.command == "seed-demo":
        seeded = asyncio.run(_seed(settings, args.if_empty))
        print("demo organisations seeded" if seeded else "database not empty; nothing seeded", file=sys.stderr)
    elif args.command == "token":
        print(asyncio.run(_token(settings, args.org, Role(args.role), args.user)))
    elif args.command == "tokens":
        from app.entrypoints.cli.seed import DEMO

        url = f"{settings.public_base_url}/graphql"
        for role in (Role.ORGANISATION_ADMINISTRATOR, Role.USER_ADMINISTRATOR, Role.USER):
            tok = asyncio.run(_token(settings, DEMO.cvr, role, None))
            print(f"\n{role.value} of {DEMO.name} (CVR {DEMO.cvr}):\n  Authorization: Bearer {tok}")
        print(f"\nGraphiQL: {url}  (add one of the headers above under 'Headers')\n")
    elif args.command == "mail":
        from app.entrypoints.cli.mail import render

        if args.last < 0:
            parser.error("--last takes 0 (all) or more")
        sys.stdout.write(render(settings, args.last, args.to))
    elif args.command == "serve":
        import uvicorn

        from app.bootstrap import persisted_documents
        from app.observability import configure_logging
        from app.schema.runtime.persisted import InvalidManifest

        try:  # here, so a bad manifest is one message and exit 2, not a traceback from uvicorn's factory
            persisted_documents(settings)
        except InvalidManifest as exc:
            print(f"mitid-gateway serve: {exc}", file=sys.stderr)
            raise SystemExit(2) from None

        if not os.environ.get("PUBLIC_BASE_URL"):
            # In the environment, so uvicorn's worker processes (Settings.from_env) see it too.
            os.environ["PUBLIC_BASE_URL"] = served_base_url(args.host, args.port)
            print(f"PUBLIC_BASE_URL not set: links in mails point to {os.environ['PUBLIC_BASE_URL']}", file=sys.stderr)
        configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
        uvicorn.run(
            "app.entrypoints.http.app:create_app", factory=True, host=args.host, port=args.port, workers=args.workers,
            log_level="info", log_config=None,
        )


if __name__ == "__main__":
    main()
