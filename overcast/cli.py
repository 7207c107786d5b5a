"""The ``overcast`` command: ``up`` (all-in-one cloud) and ``admin`` (accounts…)."""

from __future__ import annotations

import argparse
import configparser
import dataclasses
import logging
import os
import sys
from pathlib import Path

from overcast.core import config as configuration
from overcast.core.cloud import Cloud
from overcast.core.identity import Credentials
from overcast.core.objects.loops import DaemonThread, NodeClient
from overcast.core.objects.multipart import multipart_references
from overcast.core.objects.replicator import Replicator
from overcast.core.objects.sweeper import Sweeper, any_of, stored_object_references
from overcast.core.objects.topology import NodeSpec, RingFile, ensure_ring, ensure_secret
from overcast.supervisor import Child, Supervisor


def _config(args: argparse.Namespace) -> configuration.Config:
    return configuration.load(Path(args.data_dir).resolve(), database_url=getattr(args, "database_url", None),
                              host=getattr(args, "host", None), port=getattr(args, "port", None))


def write_profile(name: str, creds: Credentials, region: str, endpoint: str, home: Path | None = None) -> Path:
    """Write an AWS CLI/SDK profile (credentials + region + endpoint_url); other profiles are kept."""
    aws_dir = (home or Path(os.environ.get("HOME", "~")).expanduser()) / ".aws"
    aws_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    cred_path = Path(os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or aws_dir / "credentials")
    conf_path = Path(os.environ.get("AWS_CONFIG_FILE") or aws_dir / "config")
    creds_ini = configparser.ConfigParser()
    creds_ini.read(cred_path)
    creds_ini[name] = {"aws_access_key_id": creds.access_key_id, "aws_secret_access_key": creds.secret_access_key}
    with open(cred_path, "w") as f:
        creds_ini.write(f)
    os.chmod(cred_path, 0o600)
    conf_ini = configparser.ConfigParser()
    conf_ini.read(conf_path)
    conf_ini[f"profile {name}" if name != "default" else "default"] = {
        "region": region, "endpoint_url": endpoint, "output": "json"}
    with open(conf_path, "w") as f:
        conf_ini.write(f)
    return cred_path


def object_node_specs(cfg: configuration.Config) -> list[NodeSpec]:
    base = cfg.object_node_port or cfg.port + 1
    return [NodeSpec(f"node{i}", f"http://127.0.0.1:{base + i - 1}", f"z{i}",
                     Path(cfg.data_dir) / "objectnodes" / f"node{i}", base + i - 1)
            for i in range(1, cfg.object_nodes + 1)]


def start_object_nodes(cfg: configuration.Config) -> Supervisor:
    """One object node process per configured node, the ring kept in step, all supervised."""
    nodes = object_node_specs(cfg)
    data_dir = Path(cfg.data_dir)
    ensure_ring(data_dir / "ring.json", nodes, replicas=cfg.object_replicas)
    secret = ensure_secret(data_dir / "objectnode.key")
    supervisor = Supervisor()
    for node in nodes:
        node.root.mkdir(parents=True, exist_ok=True)
        supervisor.add(Child(node.name, [sys.executable, "-m", "overcast.hostagents.objectnode", "--root", str(node.root),
                                         "--host", "127.0.0.1", "--port", str(node.port), "--secret-file", str(secret),
                                         "--audit-interval", str(cfg.auditor_interval),
                                         "--audit-bytes-per-second", str(cfg.auditor_bytes_per_second)],
                             data_dir / "logs" / f"{node.name}.log", health_url=f"{node.url}/healthz"))
    supervisor.start()
    return supervisor


def start_object_loops(cfg: configuration.Config, cloud: Cloud) -> list[DaemonThread]:
    """The replicator and the sweeper in daemon threads (an interval of 0 turns one off)."""
    ring, nodes = RingFile(Path(cfg.data_dir) / "ring.json"), NodeClient(cloud.replicas.secret)
    referenced = any_of(stored_object_references(cloud.db), multipart_references(cloud.db))
    loops = []
    if cfg.replicator_interval > 0:
        loops.append(Replicator(ring, nodes, referenced).start(cfg.replicator_interval))
    if cfg.sweeper_interval > 0:
        loops.append(Sweeper(ring, nodes, referenced, cfg.sweeper_grace).start(cfg.sweeper_interval))
    return loops


def cmd_up(args: argparse.Namespace) -> int:
    import uvicorn

    from overcast.gateway.app import create_app

    cfg = _config(args)
    if args.object_nodes is not None:
        cfg = dataclasses.replace(cfg, object_nodes=args.object_nodes)
    cloud = Cloud.open(cfg)
    account_id, creds = cloud.bootstrap()
    supervisor = start_object_nodes(cfg)
    loops = start_object_loops(cfg, cloud)
    (cfg.data_dir / "endpoint").write_text(cfg.endpoint + "\n")   # for `overcast admin … --profile`
    profile_note = "no profile written"
    if not args.no_profile:
        write_profile(args.profile, creds, cfg.default_region, cfg.endpoint)
        profile_note = f"profile '{args.profile}' written"
    print(f"Overcast is up: {cfg.endpoint}  (region {cfg.default_region}, {profile_note})")
    print(f"  data directory : {cfg.data_dir}")
    print(f"  admin account  : {account_id}")
    print(f"  access key id  : {creds.access_key_id}")
    print(f"  secret key     : {creds.secret_access_key}")
    print(f"  try            : aws --profile {args.profile} --endpoint-url {cfg.endpoint} sts get-caller-identity")
    sys.stdout.flush()
    server = uvicorn.Server(uvicorn.Config(create_app(cloud), host=cfg.host, port=cfg.port, log_level="warning",
                                           access_log=False, lifespan="off", server_header=False,
                                           date_header=False))
    try:
        server.run()
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the SIGINT it handled after a clean shutdown
    finally:
        for loop in loops:
            loop.stop()
        supervisor.stop()
        cloud.close()
    print("Overcast stopped.")
    return 0


def cmd_create_account(args: argparse.Namespace) -> int:
    cfg = _config(args)
    cloud = Cloud.open(cfg)
    account_id, creds = cloud.identity.create_account(args.name)
    if args.profile:
        endpoint_file = cfg.data_dir / "endpoint"
        endpoint = endpoint_file.read_text().strip() if endpoint_file.exists() else cfg.endpoint
        write_profile(args.profile, creds, cfg.default_region, args.endpoint_url or endpoint)
    print(f"account {args.name}: {account_id}")
    print(f"  access key id : {creds.access_key_id}")
    print(f"  secret key    : {creds.secret_access_key}")
    if args.profile:
        print(f"  profile       : {args.profile}")
    cloud.close()
    return 0


def cmd_accounts(args: argparse.Namespace) -> int:
    cloud = Cloud.open(_config(args))
    for account_id, name in cloud.identity.accounts():
        print(f"{account_id}  {name}")
    cloud.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="overcast", description="A private cloud that speaks the AWS APIs.")
    parser.add_argument("--data-dir", default=os.environ.get("OVERCAST_DATA_DIR", ".overcast"))
    parser.add_argument("--database-url", default=os.environ.get("OVERCAST_DATABASE_URL"),
                        help="SQLAlchemy URL (default: SQLite in the data directory)")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start the all-in-one cloud in the foreground")
    up.add_argument("--host", default=None)
    up.add_argument("--port", type=int, default=None)
    up.add_argument("--profile", default="overcast", help="AWS CLI profile to write (default: overcast)")
    up.add_argument("--no-profile", action="store_true", help="do not write an AWS CLI profile")
    up.add_argument("--object-nodes", type=int, default=None,
                    help="object node processes to run (default 1, or object_nodes in overcast.toml)")
    up.set_defaults(func=cmd_up)

    admin = sub.add_parser("admin", help="administration").add_subparsers(dest="admin_command", required=True)
    create = admin.add_parser("create-account", help="create an account with its own keys")
    create.add_argument("name")
    create.add_argument("--profile", default=None, help="also write these keys as an AWS CLI profile")
    create.add_argument("--endpoint-url", default=None,
                        help="endpoint for the profile (default: the one `overcast up` last served)")
    create.set_defaults(func=cmd_create_account)
    accounts = admin.add_parser("accounts", help="list accounts")
    accounts.set_defaults(func=cmd_accounts)

    # --data-dir / --database-url are accepted after the sub-command too
    for p in (up, create, accounts):
        p.add_argument("--data-dir", default=argparse.SUPPRESS)
        p.add_argument("--database-url", default=argparse.SUPPRESS)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)      # a line per object node request otherwise
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # noqa: BLE001 — a clean message for operators
        from overcast.core.errors import AWSError
        if isinstance(err, AWSError):
            print(f"error: {err.message}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
