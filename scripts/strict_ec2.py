#!/usr/bin/env python3
"""Strict EC2 mode: moto 5.2.5's server, patched in-process to behave more like EC2.

Started like moto:  python scripts/strict_ec2.py -H 127.0.0.1 -p PORT
(it patches moto's EC2 backend and response classes, then runs moto.server.main).
Run it with the project's venv python (.venv/bin/python), which has moto[server]==5.2.5.

Behaviours (each one is a small function below, with the AWS reference it follows):

| # | behaviour                                                                        | knob                              | plain moto 5.2.5                       |
|---|----------------------------------------------------------------------------------|-----------------------------------|----------------------------------------|
| 1 | ClientToken on CreateVpcEndpoint / CreateRouteTable: same token + same params    | -                                 | token ignored: a new resource per call |
|   | -> the same resource (a deleted endpoint comes back `deleted`, a deleted route   |                                   |                                        |
|   | table comes back as it was); other params -> IdempotentParameterMismatch (400)   |                                   |                                        |
| 2 | eventual consistency: a new VPC/subnet/route table/SG/endpoint/peering is left   | S3EP_STRICT_TAG_LAG (2 s),        | visible at once                        |
|   | out of tag-filtered Describe results, and Describe by id (ids or the id filter)  | S3EP_STRICT_ID_LAG (0.5 s),       |                                        |
|   | says Invalid<Kind>ID.NotFound (EC2's exact codes) / leaves it out, for a while   | S3EP_STRICT_LAG=0 turns lags off  |                                        |
| 3 | DeleteVpcEndpoints on a missing or deleted endpoint: HTTP 200 with an            | -                                 | HTTP 200, empty Unsuccessful           |
|   | Unsuccessful item coded InvalidVpcEndpoint.NotFound; DescribeVpcPeeringConn.     |                                   | unknown peering id: empty list         |
|   | by an unknown id: InvalidVpcPeeringConnectionID.NotFound                         |                                   |                                        |
| 4 | interface endpoint deletion: `deleting` for a while, then `deleted`; meanwhile   | S3EP_STRICT_DELETE_SECONDS (1.5)  | `deleted` at once, no dependencies     |
|   | DeleteSubnet / DeleteSecurityGroup of its subnets / groups -> DependencyViolation|                                   |                                        |
|   | DeleteVpc with endpoints or non-default security groups -> DependencyViolation   |                                   | only subnets/route tables checked      |
| 5 | gateway endpoint prefix-list routes appear a moment after CreateVpcEndpoint;     | S3EP_STRICT_ROUTE_LAG (0.5 s)     | routes at once on create; Modify never |
|   | ModifyVpcEndpoint Add/RemoveRouteTableIds adds/removes them; DeleteVpcEndpoints  |                                   | changes routes; Delete fails with      |
|   | removes those still there (never InvalidRoute.NotFound)                          |                                   | InvalidRoute.NotFound                  |
| 6 | S3 private DNS: inbound-only needs a gateway endpoint; private DNS needs the     | -                                 | DnsOptions, IpAddressType,             |
|   | VPC's DNS support + hostnames; DnsOptions/IpAddressType/ServiceRegion stored and |                                   | ServiceRegion, ResetPolicy,            |
|   | returned; a gateway endpoint cannot be deleted while an interface endpoint has   |                                   | PrivateDnsEnabled (Modify) ignored     |
|   | inbound-only on; ModifyVpcEndpoint honours PrivateDnsEnabled, DnsOptions,        |                                   |                                        |
|   | ResetPolicy, IpAddressType                                                       |                                   |                                        |
| 7 | the S3 interface service is not offered in some AZs: left out of                 | S3EP_STRICT_UNSUPPORTED_AZS       | every AZ listed and accepted           |
|   | DescribeVpcEndpointServices; Create/ModifyVpcEndpoint with a subnet there ->     | (default use1-az3 = us-east-1e;   |                                        |
|   | InvalidParameter naming the subnet and the AZ                                    | names or ids, comma-separated)    |                                        |
| 8 | 60 inbound (and 60 outbound) rules per group, IPv4 and IPv6 counted apart, the   | S3EP_STRICT_SG_RULES (60)         | counts v4+v6 together, refused calls   |
|   | whole request checked before any rule is added -> RulesPerSecurityGroupLimit...  |                                   | keep the rules added before; a prefix- |
|   |                                                                                  |                                   | list rule can make 61                  |

Knobs (environment variables, read at start):
  S3EP_STRICT_TAG_LAG          seconds a new resource is missing from tag-filtered Describe results (default 2)
  S3EP_STRICT_ID_LAG           seconds Describe by id answers NotFound after create (default 0.5)
  S3EP_STRICT_ROUTE_LAG        seconds before a gateway endpoint's prefix-list route appears/goes (default 0.5)
  S3EP_STRICT_LAG              0 turns the three lags above off (they become 0); any other value: no effect
  S3EP_STRICT_DELETE_SECONDS   seconds an interface endpoint stays `deleting` (default 1.5)
  S3EP_STRICT_UNSUPPORTED_AZS  AZ names or ids where the S3 interface service is not offered (default use1-az3;
                               empty: every AZ offered)
  S3EP_STRICT_SG_RULES         rules per security group and direction, per IP family (default 60)

Time-based changes (route appears, `deleting` -> `deleted`) are applied lazily: every EC2 request first
runs what has come due, under one lock that also serialises the requests themselves. Nothing observes
the state between requests, so this is the same as timers, without threads.
"""

from __future__ import annotations

import heapq
import itertools
import json
import os
import sys
import threading
import time
from typing import Any, Callable

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models import EC2Backend
from moto.ec2.models.vpcs import VPCEndPoint
from moto.ec2.responses import EC2Response


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


TAG_LAG = _env_float("S3EP_STRICT_TAG_LAG", 2.0)
ID_LAG = _env_float("S3EP_STRICT_ID_LAG", 0.5)
ROUTE_LAG = _env_float("S3EP_STRICT_ROUTE_LAG", 0.5)
if os.environ.get("S3EP_STRICT_LAG", "").strip() == "0":
    TAG_LAG = ID_LAG = ROUTE_LAG = 0.0
DELETE_SECONDS = _env_float("S3EP_STRICT_DELETE_SECONDS", 1.5)
UNSUPPORTED_AZS = {
    z.strip() for z in os.environ.get("S3EP_STRICT_UNSUPPORTED_AZS", "use1-az3").split(",") if z.strip()
}
SG_RULES = int(_env_float("S3EP_STRICT_SG_RULES", 60))


def _truthy(v: Any) -> bool:
    return v is True or str(v).strip().lower() == "true"


def _err(code: str, message: str) -> EC2ClientError:
    """An EC2 error response (HTTP 400) with CODE."""
    return EC2ClientError(code, message)


# ---------------------------------------------------------------------------------------------
# Plumbing: one lock for every EC2 request, and the queue of changes that come due later.

LOCK = threading.RLock()
_EVENTS: list[tuple[float, int, Callable[[], None]]] = []
_SEQ = itertools.count()


def later(delay: float, fn: Callable[[], None]) -> None:
    """Runs FN DELAY seconds from now (at the first EC2 request after that); at once if DELAY <= 0."""
    if delay <= 0:
        fn()
    else:
        heapq.heappush(_EVENTS, (time.monotonic() + delay, next(_SEQ), fn))


def run_due() -> None:
    now = time.monotonic()
    while _EVENTS and _EVENTS[0][0] <= now:
        _, _, fn = heapq.heappop(_EVENTS)
        try:
            fn()
        except Exception as e:  # a failed delayed change must not fail an unrelated request
            print(f"strict_ec2: delayed change failed: {e!r}", file=sys.stderr)


def state(backend: Any) -> dict[str, Any]:
    """Strict-mode state of one (account, region) backend; gone with it on /moto-api/reset."""
    st = backend.__dict__.get("_strict_state")
    if st is None:
        st = {"tokens": {}}
        backend.__dict__["_strict_state"] = st
    return st


def stamp(obj: Any) -> Any:
    """Records when OBJ was created (for the eventual-consistency lags)."""
    if obj is not None and not hasattr(obj, "_strict_created"):
        try:
            obj._strict_created = time.monotonic()
        except AttributeError:
            pass
    return obj


def age(obj: Any) -> float:
    t = getattr(obj, "_strict_created", None)
    return float("inf") if t is None else time.monotonic() - t


_orig_call_action = EC2Response.call_action


def call_action(self: Any) -> Any:
    with LOCK:
        run_due()
        return _orig_call_action(self)


EC2Response.call_action = call_action


def _patch_backend(name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    setattr(EC2Backend, name, make(getattr(EC2Backend, name)))


def _patch_response(name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    setattr(EC2Response, name, make(getattr(EC2Response, name)))


# Every create we track is stamped with its creation time.
for _create in (
    "create_vpc",
    "create_subnet",
    "create_route_table",
    "create_security_group",
    "create_vpc_endpoint",
    "create_vpc_peering_connection",
):

    def _stamping(orig: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: Any, *a: Any, **kw: Any) -> Any:
            return stamp(orig(self, *a, **kw))

        return wrapper

    _patch_backend(_create, _stamping)


# ---------------------------------------------------------------------------------------------
# 1. Client tokens.
# "Ensuring idempotency in Amazon EC2 API requests" (EC2 developer guide): CreateVpcEndpoint and
# CreateRouteTable take a ClientToken; a retry with the same token and the same parameters succeeds
# without doing anything more and returns the same resource ("the result might contain updated
# information"); the same token with other parameters fails with IdempotentParameterMismatch.
# Tokens are per account and region (state() is per backend). After a delete, EC2 still answers the
# token with the resource: an endpoint in state `deleted` (it stays listed that way); a route table
# that is gone comes back as the response of the original call (its id, which Describe then answers
# InvalidRouteTableID.NotFound) -- the closest to EC2 we can tell, see the note on route-table
# tokens answered with deleted tables.

_NOT_PARAMS = {"Action", "Version", "ClientToken", "DryRun"}


def request_fingerprint(resp: Any) -> str:
    """The request's parameters except the token itself (the region is already the backend's)."""
    qs = {k: v for k, v in resp.querystring.items() if k not in _NOT_PARAMS}
    return json.dumps(sorted(qs.items()), sort_keys=True, default=str)


def token_lookup(resp: Any, action: str) -> Any:
    """The resource an earlier call with this token made, or None; raises on a parameter mismatch."""
    token = resp._get_param("ClientToken")
    if not token:
        return None
    prior = state(resp.ec2_backend)["tokens"].get((action, token))
    if prior is None:
        return None
    fingerprint, obj = prior
    if fingerprint != request_fingerprint(resp):
        raise _err(
            "IdempotentParameterMismatch",
            f"The client token '{token}' has already been used with different request parameters.",
        )
    return obj


def token_remember(resp: Any, action: str, obj: Any) -> None:
    token = resp._get_param("ClientToken")
    if token:
        state(resp.ec2_backend)["tokens"][(action, token)] = (request_fingerprint(resp), obj)


def _create_route_table(orig: Callable[..., Any]) -> Callable[..., Any]:
    def create_route_table(self: Any) -> Any:
        prior = token_lookup(self, "CreateRouteTable")
        if prior is not None:
            return ActionResult({"RouteTable": prior, "ClientToken": self._get_param("ClientToken")})
        result = orig(self)
        table = result.result["RouteTable"]
        token_remember(self, "CreateRouteTable", table)
        return ActionResult({"RouteTable": table, "ClientToken": self._get_param("ClientToken")})

    return create_route_table


_patch_response("create_route_table", _create_route_table)


# ---------------------------------------------------------------------------------------------
# 2. Eventual consistency.
# "Eventual consistency in the Amazon EC2 API" (EC2 developer guide): a resource just created may
# not show up in Describe calls yet, and a Describe by its id may answer `Invalid<Kind>ID.NotFound`;
# tag filters lag further behind (the note on tag look-ups after a lost create).
# EC2's NotFound codes: InvalidVpcID.NotFound, InvalidSubnetID.NotFound, InvalidRouteTableID.NotFound,
# InvalidGroup.NotFound, InvalidVpcEndpointId.NotFound, InvalidVpcPeeringConnectionID.NotFound
# (EC2 API reference, "Error codes").

# kind: (response method, id list parameter, own-id filter name, result key, NotFound code, noun)
DESCRIBES = {
    "vpc": ("describe_vpcs", "VpcIds", "vpc-id", "Vpcs", "InvalidVpcID.NotFound", "vpc ID"),
    "subnet": ("describe_subnets", "SubnetIds", "subnet-id", "Subnets", "InvalidSubnetID.NotFound", "subnet ID"),
    "route_table": (
        "describe_route_tables",
        "RouteTableIds",
        "route-table-id",
        "RouteTables",
        "InvalidRouteTableID.NotFound",
        "route table ID",
    ),
    "security_group": (
        "describe_security_groups",
        "GroupIds",
        "group-id",
        "SecurityGroups",
        "InvalidGroup.NotFound",
        "security group",
    ),
    "endpoint": (
        "describe_vpc_endpoints",
        "VpcEndpointIds",
        "vpc-endpoint-id",
        "VpcEndpoints",
        "InvalidVpcEndpointId.NotFound",
        "VpcEndpoint Id",
    ),
    "peering": (
        "describe_vpc_peering_connections",
        "VpcPeeringConnectionIds",
        "vpc-peering-connection-id",
        "VpcPeeringConnections",
        "InvalidVpcPeeringConnectionID.NotFound",
        "vpcPeeringConnection ID",
    ),
}


def _find_any(backend: Any, kind: str, rid: str) -> Any:
    """The model object of KIND with id RID, or None."""
    if kind == "vpc":
        return backend.vpcs.get(rid)
    if kind == "subnet":
        for subnets in backend.subnets.values():
            if rid in subnets:
                return subnets[rid]
        return None
    if kind == "route_table":
        return backend.route_tables.get(rid)
    if kind == "security_group":
        return backend.get_security_group_from_id(rid)
    if kind == "endpoint":
        return backend.vpc_end_points.get(rid)
    if kind == "peering":
        return backend.vpc_pcxs.get(rid)
    return None


def _obj_id(obj: Any) -> str:
    return getattr(obj, "id", None) or getattr(obj, "group_id", "")


def is_tag_filter(name: str) -> bool:
    return name.startswith("tag:") or name in ("tag-key", "tag-value")


def check_ids_visible(resp: Any, kind: str) -> None:
    """Describe by id: an id created less than ID_LAG ago is NotFound (and, for peerings, an id
    that does not exist at all: moto answers an empty list there)."""
    _, param, _, _, code, noun = DESCRIBES[kind]
    for rid in resp._get_param(param, []) or []:
        obj = _find_any(resp.ec2_backend, kind, rid)
        if (obj is not None and age(obj) < ID_LAG) or (obj is None and kind == "peering"):
            raise _err(code, f"The {noun} '{rid}' does not exist")


def hide_new(resp: Any, kind: str, items: list[Any]) -> list[Any]:
    """Filtered Describe: leave out what a tag filter (TAG_LAG) or the kind's own-id filter (ID_LAG)
    cannot see yet. A filter never answers NotFound on EC2, it just does not list the resource."""
    _, _, id_filter, _, _, _ = DESCRIBES[kind]
    filters = resp._filters_from_querystring()
    lag = 0.0
    if any(is_tag_filter(name) for name in filters):
        lag = max(lag, TAG_LAG)
    if id_filter in filters:
        lag = max(lag, ID_LAG)
    if lag <= 0:
        return items
    return [o for o in items if age(o) >= lag]


def _lagging_describe(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def make(orig: Callable[..., Any]) -> Callable[..., Any]:
        def describe(self: Any) -> Any:
            check_ids_visible(self, kind)
            result = orig(self)
            key = DESCRIBES[kind][3]
            body = dict(result.result)
            body[key] = hide_new(self, kind, list(body.get(key) or []))
            return ActionResult(body)

        return describe

    return make


for _kind, _spec in DESCRIBES.items():
    _patch_response(_spec[0], _lagging_describe(_kind))


# ---------------------------------------------------------------------------------------------
# 3 + 4 + 5 + 6. DeleteVpcEndpoints.
# DeleteVpcEndpoints (EC2 API reference): the answer is HTTP 200 with an `Unsuccessful` list; an id
# that does not exist, or an endpoint already deleted, is an item coded InvalidVpcEndpoint.NotFound
# (not an error response; terraform-provider-aws #16656 handles it this way).
# Interface endpoints go `deleting` and then `deleted` (PrivateLink guide, "Delete an interface
# endpoint"; terraform-provider-aws waits for `deleted`); their network interfaces live until then, so
# the subnets and security groups stay in use.
# A gateway endpoint cannot be deleted while an interface endpoint for the service in its VPC has
# PrivateDnsOnlyForInboundResolverEndpoint=true: EC2 refuses with InvalidParameter "Gateway endpoint
# cannot be deleted while Interface endpoint vpce-… for the service has
# PrivateDnsOnlyForInboundResolverEndpoint set to true." (cloudposse/terraform-aws-vpc #153).


def unsuccessful(rid: str, code: str, message: str) -> dict[str, Any]:
    return {"Error": {"Code": code, "Message": message}, "ResourceId": rid}


def live(ep: Any) -> bool:
    return ep.state not in ("deleted",)


def is_interface(ep: Any) -> bool:
    return (ep.vpc_endpoint_type or "").lower() == "interface"


def is_gateway(ep: Any) -> bool:
    return (ep.vpc_endpoint_type or "gateway").lower() == "gateway"


def inbound_only_blocker(backend: Any, gateway: Any) -> Any:
    """An interface endpoint for the gateway's service in its VPC with inbound-only DNS on."""
    for ep in backend.vpc_end_points.values():
        if (
            live(ep)
            and is_interface(ep)
            and ep.vpc_id == gateway.vpc_id
            and ep.service_name == gateway.service_name
            and (getattr(ep, "dns_options", None) or {}).get("PrivateDnsOnlyForInboundResolverEndpoint")
        ):
            return ep
    return None


def remove_gateway_routes(backend: Any, ep: Any, table_ids: list[str]) -> None:
    """Removes EP's prefix-list routes from TABLE_IDS, those that are still there (a route already
    gone is not an error: EC2 manages these routes and never reports InvalidRoute.NotFound here)."""
    for rt_id in table_ids:
        table = backend.route_tables.get(rt_id)
        if table is None:
            continue
        for route_id, route in list(table._routes.items()):
            pl = getattr(route, "destination_prefix_list", None)
            if pl is not None and pl.id == ep.destination_prefix_list_id and route.gateway_id == ep.id:
                table._routes.pop(route_id, None)


def finish_interface_delete(backend: Any, ep: Any) -> None:
    """`deleting` -> `deleted`: the network interfaces go, so subnets and groups are free."""
    if ep.state != "deleting":
        return
    for eni_id in ep.network_interface_ids:
        backend.enis.pop(eni_id, None)
    ep.state = "deleted"


def delete_one_endpoint(backend: Any, rid: str) -> dict[str, Any] | None:
    """Deletes one endpoint; an Unsuccessful item, or None when it went (or is going) away."""
    ep = backend.vpc_end_points.get(rid)
    if ep is None or ep.state == "deleted":
        return unsuccessful(rid, "InvalidVpcEndpoint.NotFound", f"The VpcEndpoint Id '{rid}' does not exist")
    if ep.state == "deleting":
        return None
    if is_gateway(ep):
        blocker = inbound_only_blocker(backend, ep)
        if blocker is not None:
            return unsuccessful(
                rid,
                "InvalidParameter",
                f"Gateway endpoint cannot be deleted while Interface endpoint {blocker.id} for the service "
                "has PrivateDnsOnlyForInboundResolverEndpoint set to true.",
            )
        remove_gateway_routes(backend, ep, list(ep.route_table_ids))
        ep.state = "deleted"
        return None
    if is_interface(ep):
        ep.state = "deleting"
        later(DELETE_SECONDS, lambda: finish_interface_delete(backend, ep))
        return None
    ep.state = "deleted"
    return None


def _delete_vpc_endpoints(orig: Callable[..., Any]) -> Callable[..., Any]:
    def delete_vpc_endpoints(self: Any) -> Any:
        items = []
        for rid in self._get_param("VpcEndpointIds", []) or []:
            item = delete_one_endpoint(self.ec2_backend, rid)
            if item is not None:
                items.append(item)
        return ActionResult({"Unsuccessful": items})

    return delete_vpc_endpoints


_patch_response("delete_vpc_endpoints", _delete_vpc_endpoints)


# 4. Dependencies. DeleteSubnet / DeleteSecurityGroup (EC2 API reference): "You must terminate all
# running instances [network interfaces] in the subnet before you can delete the subnet"; a group in
# use by a network interface answers DependencyViolation. An interface endpoint holds one network
# interface per subnet, with its groups, until it is `deleted`.
# DeleteVpc (EC2 API reference): "you must … delete all security groups associated with the VPC
# (except the default one) … and so on" -- endpoints included (cloud-nuke #252: endpoints block VPC
# deletion).


def endpoints_using(backend: Any, pred: Callable[[Any], bool]) -> list[Any]:
    return [ep for ep in backend.vpc_end_points.values() if live(ep) and pred(ep)]


def _delete_subnet(orig: Callable[..., Any]) -> Callable[..., Any]:
    def delete_subnet(self: Any, subnet_id: str) -> Any:
        if endpoints_using(self, lambda ep: is_interface(ep) and subnet_id in (ep.subnet_ids or [])):
            raise _err(
                "DependencyViolation", f"The subnet '{subnet_id}' has dependencies and cannot be deleted."
            )
        return orig(self, subnet_id)

    return delete_subnet


def _delete_security_group(orig: Callable[..., Any]) -> Callable[..., Any]:
    def delete_security_group(self: Any, name: str | None = None, group_id: str | None = None) -> Any:
        gid = group_id
        if gid is None and name:
            group = self.get_security_group_by_name_or_id(name)
            gid = group.id if group else None
        if gid and endpoints_using(self, lambda ep: gid in (ep.security_group_ids or [])):
            raise _err("DependencyViolation", f"resource {gid} has a dependent object")
        return orig(self, name=name, group_id=group_id)

    return delete_security_group


def _delete_vpc(orig: Callable[..., Any]) -> Callable[..., Any]:
    def delete_vpc(self: Any, vpc_id: str) -> Any:
        busy = endpoints_using(self, lambda ep: ep.vpc_id == vpc_id)
        groups = [g for g in self.groups.get(vpc_id, {}).values() if g.name != "default"]
        if busy or groups:
            raise _err("DependencyViolation", f"The vpc '{vpc_id}' has dependencies and cannot be deleted.")
        return orig(self, vpc_id)

    return delete_vpc


_patch_backend("delete_subnet", _delete_subnet)
_patch_backend("delete_security_group", _delete_security_group)
_patch_backend("delete_vpc", _delete_vpc)


# ---------------------------------------------------------------------------------------------
# 5. Gateway endpoint routes.
# PrivateLink guide, "Gateway endpoints" / "Route tables": for each route table associated with a
# gateway endpoint, EC2 adds a route whose destination is the service's prefix list and whose target
# is the endpoint; ModifyVpcEndpoint AddRouteTableIds / RemoveRouteTableIds adds / removes it. The
# route shows up shortly after the call returns (eventual consistency, as above).


def add_gateway_route_later(backend: Any, ep: Any, rt_id: str) -> None:
    def add() -> None:
        if not live(ep) or rt_id not in ep.route_table_ids or rt_id not in backend.route_tables:
            return
        table = backend.route_tables[rt_id]
        for route in table._routes.values():
            pl = getattr(route, "destination_prefix_list", None)
            if pl is not None and pl.id == ep.destination_prefix_list_id:
                return  # already there
        backend.create_route(rt_id, None, gateway_id=ep.id, destination_prefix_list_id=ep.destination_prefix_list_id)

    later(ROUTE_LAG, add)


def remove_gateway_route_later(backend: Any, ep: Any, rt_id: str) -> None:
    def remove() -> None:
        if rt_id not in ep.route_table_ids:
            remove_gateway_routes(backend, ep, [rt_id])

    later(ROUTE_LAG, remove)


def _create_vpc_endpoint_backend(orig: Callable[..., Any]) -> Callable[..., Any]:
    def create_vpc_endpoint(self: Any, **kw: Any) -> Any:
        endpoint_type = kw.get("endpoint_type")
        gateway = not (endpoint_type and endpoint_type.lower() != "gateway")
        tables = list(kw.get("route_table_ids") or [])
        if gateway:
            for rt_id in tables:
                self.get_route_table(rt_id)  # InvalidRouteTableID.NotFound before anything is made
            kw["route_table_ids"] = []
        ep = orig(self, **kw)
        if gateway:
            ep.route_table_ids = tables
            for rt_id in tables:
                add_gateway_route_later(self, ep, rt_id)
        return ep

    return create_vpc_endpoint


_patch_backend("create_vpc_endpoint", _create_vpc_endpoint_backend)


# ---------------------------------------------------------------------------------------------
# 6. Private DNS for S3 interface endpoints.
# PrivateLink guide, "Private DNS for interface endpoints" (Amazon S3), and the DnsOptionsSpecification
# API reference: PrivateDnsOnlyForInboundResolverEndpoint=true needs a gateway endpoint for the same
# service in the VPC, else InvalidParameter "To set PrivateDnsOnlyForInboundResolverEndpoint to true,
# the VPC vpc-… must have a Gateway endpoint for the service." (terraform-provider-aws #31873, #33689).
# Left out with private DNS on, EC2 sets it to true when such a gateway exists and false otherwise
# (terraform-provider-aws #42413, #46404).
# PrivateLink guide, "DNS attributes for your VPC": private DNS needs enableDnsSupport and
# enableDnsHostnames; otherwise InvalidParameter.
# CreateVpcEndpoint API reference: PrivateDnsEnabled defaults to true (interface endpoints);
# IpAddressType, DnsOptions and ServiceRegion are returned by DescribeVpcEndpoints. Gateway endpoints
# have no private DNS (PrivateDnsEnabled false).


def dns_attrs_ok(backend: Any, vpc_id: str) -> bool:
    vpc = backend.get_vpc(vpc_id)
    return _truthy(vpc.enable_dns_support) and _truthy(vpc.enable_dns_hostnames)


def require_dns_attrs(backend: Any, vpc_id: str) -> None:
    if not dns_attrs_ok(backend, vpc_id):
        raise _err(
            "InvalidParameter",
            "Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC attributes "
            f"set to true for {vpc_id}",
        )


def has_gateway_for(backend: Any, vpc_id: str, service_name: str) -> bool:
    return any(
        live(ep) and ep.state != "deleting" and is_gateway(ep) and ep.vpc_id == vpc_id
        and ep.service_name == service_name
        for ep in backend.vpc_end_points.values()
    )


def require_gateway_for_inbound_only(backend: Any, vpc_id: str, service_name: str) -> None:
    if not has_gateway_for(backend, vpc_id, service_name):
        raise _err(
            "InvalidParameter",
            f"To set PrivateDnsOnlyForInboundResolverEndpoint to true, the VPC {vpc_id} must have a Gateway "
            "endpoint for the service.",
        )


def parse_dns_options(resp: Any) -> dict[str, Any]:
    raw = resp._get_param("DnsOptions") or {}
    out: dict[str, Any] = {}
    if raw.get("DnsRecordIpType") is not None:
        out["DnsRecordIpType"] = raw["DnsRecordIpType"]
    if raw.get("PrivateDnsOnlyForInboundResolverEndpoint") is not None:
        out["PrivateDnsOnlyForInboundResolverEndpoint"] = _truthy(raw["PrivateDnsOnlyForInboundResolverEndpoint"])
    return out


def check_private_dns(backend: Any, vpc_id: str, service_name: str, private_dns: bool, inbound_only: bool) -> None:
    """The two private-DNS rules, for an interface endpoint being created or modified."""
    if private_dns:
        require_dns_attrs(backend, vpc_id)
    if inbound_only:
        require_gateway_for_inbound_only(backend, vpc_id, service_name)


# ---------------------------------------------------------------------------------------------
# 7. AZ support of the S3 interface service.
# PrivateLink guide, "Availability Zones": an interface endpoint service may not be offered in every
# AZ; DescribeVpcEndpointServices lists the AZs where it is. CreateVpcEndpoint with a subnet elsewhere
# fails: InvalidParameter "The VPC endpoint service com.amazonaws.us-east-1.email-smtp does not support
# the availability zone of the subnet: subnet-…." (terraform-aws-modules/terraform-aws-vpc #462, #785);
# we add the AZ name and id to the message.


def is_s3_interface_service(name: str) -> bool:
    return name.endswith(".s3") and (name.startswith("com.amazonaws.") or name.startswith("cn.com.amazonaws."))


def zone_unsupported(name: str, zone_id: str | None) -> bool:
    return name in UNSUPPORTED_AZS or (zone_id is not None and zone_id in UNSUPPORTED_AZS)


def check_subnet_azs(backend: Any, service_name: str, subnet_ids: list[str]) -> None:
    if not is_s3_interface_service(service_name):
        return
    for sid in subnet_ids:
        subnet = backend.get_subnet(sid)  # InvalidSubnetID.NotFound
        if zone_unsupported(subnet.availability_zone, getattr(subnet, "availability_zone_id", None)):
            raise _err(
                "InvalidParameter",
                f"The VPC endpoint service {service_name} does not support the availability zone of the "
                f"subnet: {sid}. (availability zone {subnet.availability_zone}, "
                f"{getattr(subnet, 'availability_zone_id', '?')})",
            )


def _describe_vpc_endpoint_services(orig: Callable[..., Any]) -> Callable[..., Any]:
    def describe_vpc_endpoint_services(self: Any) -> Any:
        result = orig(self)
        body = dict(result.result)
        zone_ids = {z.name: z.zone_id for z in self.ec2_backend.describe_availability_zones()}
        details = []
        for d in body.get("ServiceDetails") or []:
            types = [t.get("ServiceType") for t in d.get("ServiceType") or []]
            if "Interface" in types and is_s3_interface_service(d.get("ServiceName", "")):
                d = dict(d)  # moto caches the default service list: never edit it in place
                zones = [z for z in d.get("AvailabilityZones") or [] if not zone_unsupported(z, zone_ids.get(z))]
                d["AvailabilityZones"] = zones
                d["AvailabilityZoneIds"] = [zone_ids[z] for z in zones if z in zone_ids]
            details.append(d)
        body["ServiceDetails"] = details
        return ActionResult(body)

    return describe_vpc_endpoint_services


_patch_response("describe_vpc_endpoint_services", _describe_vpc_endpoint_services)


# ---------------------------------------------------------------------------------------------
# CreateVpcEndpoint and ModifyVpcEndpoint (the response side): 1, 6 and 7 above, in EC2's order:
# token first, then validation, then the change.


def _create_vpc_endpoint(orig: Callable[..., Any]) -> Callable[..., Any]:
    def create_vpc_endpoint(self: Any) -> Any:
        token = self._get_param("ClientToken")
        prior = token_lookup(self, "CreateVpcEndpoint")
        if prior is not None:
            return ActionResult({"VpcEndpoint": prior, "ClientToken": token})
        backend = self.ec2_backend
        vpc_id = self._get_param("VpcId")
        service = self._get_param("ServiceName")
        interface = (self._get_param("VpcEndpointType") or "Gateway").lower() == "interface"
        backend.get_vpc(vpc_id)
        raw_pde = self._get_param("PrivateDnsEnabled")
        dns = parse_dns_options(self)
        private_dns = interface and (True if raw_pde is None else _truthy(raw_pde))
        if interface:
            check_subnet_azs(backend, service, self._get_param("SubnetIds", []) or [])
            inbound = dns.get("PrivateDnsOnlyForInboundResolverEndpoint")
            if inbound is None:
                inbound = private_dns and has_gateway_for(backend, vpc_id, service)
            check_private_dns(backend, vpc_id, service, private_dns, bool(inbound))
        ip_type = self._get_param("IpAddressType") or "ipv4"
        result = orig(self)
        ep = result.result["VpcEndpoint"]
        ep.private_dns_enabled = private_dns
        ep.ip_address_type = ip_type
        ep.service_region = self._get_param("ServiceRegion") or self.region
        if interface:
            ep.dns_options = {
                "DnsRecordIpType": dns.get("DnsRecordIpType") or ip_type,
                "PrivateDnsOnlyForInboundResolverEndpoint": bool(inbound),
            }
        token_remember(self, "CreateVpcEndpoint", ep)
        return ActionResult({"VpcEndpoint": ep, "ClientToken": token})

    return create_vpc_endpoint


def _modify_vpc_endpoint(orig: Callable[..., Any]) -> Callable[..., Any]:
    def modify_vpc_endpoint(self: Any) -> Any:
        backend = self.ec2_backend
        ep = backend.get_vpc_end_point(self._get_param("VpcEndpointId"))  # InvalidVpcEndpointId.NotFound
        add_subnets = self._get_param("AddSubnetIds", []) or []
        add_tables = self._get_param("AddRouteTableIds", []) or []
        remove_tables = self._get_param("RemoveRouteTableIds", []) or []
        raw_pde = self._get_param("PrivateDnsEnabled")
        dns = parse_dns_options(self)
        if is_interface(ep):
            check_subnet_azs(backend, ep.service_name, add_subnets)
            private_dns = ep.private_dns_enabled if raw_pde is None else _truthy(raw_pde)
            current = getattr(ep, "dns_options", None) or {}
            inbound = dns.get(
                "PrivateDnsOnlyForInboundResolverEndpoint", current.get("PrivateDnsOnlyForInboundResolverEndpoint", False)
            )
            if raw_pde is not None or dns:
                check_private_dns(backend, ep.vpc_id, ep.service_name, bool(private_dns), bool(inbound))
        if is_gateway(ep):
            for rt_id in add_tables:
                backend.get_route_table(rt_id)
        orig(self)  # moto: policy, subnet, group and route-table lists
        if _truthy(self._get_param("ResetPolicy")):
            ep.policy_document = json.dumps(VPCEndPoint.DEFAULT_POLICY)
        if self._get_param("IpAddressType"):
            ep.ip_address_type = self._get_param("IpAddressType")
        if is_interface(ep):
            ep.private_dns_enabled = bool(private_dns)
            ep.dns_options = {
                "DnsRecordIpType": dns.get("DnsRecordIpType") or current.get("DnsRecordIpType") or "ipv4",
                "PrivateDnsOnlyForInboundResolverEndpoint": bool(inbound),
            }
        if is_gateway(ep):
            for rt_id in add_tables:
                add_gateway_route_later(backend, ep, rt_id)
            for rt_id in remove_tables:
                remove_gateway_route_later(backend, ep, rt_id)
        return ActionResult({"Return": True})

    return modify_vpc_endpoint


_patch_response("create_vpc_endpoint", _create_vpc_endpoint)
_patch_response("modify_vpc_endpoint", _modify_vpc_endpoint)


# ---------------------------------------------------------------------------------------------
# 8. Security group rule quota.
# Amazon VPC quotas, "Security groups": 60 inbound and 60 outbound rules per security group, enforced
# separately for IPv4 and IPv6 rules; a rule that references a security group counts for both; a rule
# that references a prefix list counts its maximum number of entries ("Maximum number of entries per
# prefix list": "if you create a prefix list with 20 maximum entries and you reference that prefix list
# in a security group rule, this counts as 20 security group rules"); we count an AWS-managed list as 1.
# AuthorizeSecurityGroupIngress/Egress are all-or-nothing: a refused request adds no rule.


def prefix_list_weight(backend: Any, pl_id: str | None) -> int:
    pl = backend.managed_prefix_lists.get(pl_id) if pl_id else None
    if pl is None or (pl.prefix_list_name or "").startswith(("com.amazonaws.", "cn.com.amazonaws.")):
        return 1
    try:
        return int(pl.max_entries or 1)
    except (TypeError, ValueError):
        return 1


def rule_weight(backend: Any, ip_range: dict[str, Any] | None, source_group: Any, pl_id: str | None) -> tuple[int, int]:
    """(IPv4 rules, IPv6 rules) one rule counts as."""
    if ip_range:
        return (0, 1) if ip_range.get("CidrIpv6") else (1, 0)
    if pl_id:
        w = prefix_list_weight(backend, pl_id)
        return (w, w)
    if source_group:
        return (1, 1)
    return (1, 0)


def check_rule_quota(resp: Any, egress: bool) -> None:
    backend = resp.ec2_backend
    perms = list(resp._process_rules_from_querystring())
    if not perms:
        return
    group = backend.get_security_group_by_name_or_id(perms[0]["group_name_or_id"], None)
    if group is None:
        return  # moto answers InvalidGroup.NotFound
    v4 = v6 = 0
    for rule in group.egress_rules if egress else group.ingress_rules:
        a, b = rule_weight(backend, rule.ip_range, rule.source_group, rule.prefix_list_id)
        v4, v6 = v4 + a, v6 + b
    for p in perms:
        for r in p.get("ip_ranges") or []:
            a, b = rule_weight(backend, r if isinstance(r, dict) else {"CidrIp": r}, None, None)
            v4, v6 = v4 + a, v6 + b
        for g in p.get("source_groups") or []:
            v4, v6 = v4 + 1, v6 + 1
        for pl in p.get("prefix_list_ids") or []:
            w = prefix_list_weight(backend, pl.get("PrefixListId") if isinstance(pl, dict) else pl)
            v4, v6 = v4 + w, v6 + w
    if v4 > SG_RULES or v6 > SG_RULES:
        raise _err("RulesPerSecurityGroupLimitExceeded", "The maximum number of rules per security group has been reached.")


def _authorize(egress: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def make(orig: Callable[..., Any]) -> Callable[..., Any]:
        def authorize(self: Any) -> Any:
            check_rule_quota(self, egress)
            return orig(self)

        return authorize

    return make


_patch_response("authorize_security_group_ingress", _authorize(False))
_patch_response("authorize_security_group_egress", _authorize(True))
# moto's own count (IPv4 and IPv6 together, per permission) is replaced by check_rule_quota.
EC2Backend._verify_group_will_respect_rule_count_limit = lambda self, *a, **kw: None


# ---------------------------------------------------------------------------------------------

if __name__ == "__main__":
    from moto.server import main

    print(
        f"strict_ec2: tag lag {TAG_LAG}s, id lag {ID_LAG}s, route lag {ROUTE_LAG}s, delete {DELETE_SECONDS}s, "
        f"unsupported AZs {sorted(UNSUPPORTED_AZS)}, {SG_RULES} rules per group",
        file=sys.stderr,
        flush=True,
    )
    main(sys.argv[1:])
