//! `s3ep graph`: the plan's topology as a Mermaid flowchart or a Graphviz
//! DOT graph. Regions are clusters (Mermaid subgraphs, DOT `cluster_`
//! subgraphs), each VPC a cluster inside its region holding its subnets,
//! route tables and endpoints; edges are route-table associations, gateway
//! endpoint routes, interface endpoint subnets, peerings and their routes.
//! With a `Live`, each node also shows its live id.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::model::{owned_by, Address, Desired, EndpointKind, Live, Ref, Source, Tags, TAG_KEY};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Mermaid,
    Dot,
}

/// A box.
#[derive(Debug, Clone, PartialEq)]
struct Node {
    id: String,
    /// Lines of the label.
    label: Vec<String>,
}

/// A VPC cluster.
#[derive(Debug, Clone, PartialEq)]
struct Vpc {
    id: String,
    label: Vec<String>,
    nodes: Vec<Node>,
}

/// An arrow (`directed`) or a line.
#[derive(Debug, Clone, PartialEq)]
struct Edge {
    from: String,
    to: String,
    label: String,
    directed: bool,
}

/// The graph before it is written in one format or the other.
#[derive(Debug, Default)]
struct Topology {
    /// Region → VPCs.
    regions: BTreeMap<String, Vec<Vpc>>,
    edges: Vec<Edge>,
}

/// A node id that is the same in both formats and unique per address:
/// letters and digits are kept, every other character becomes `_<hex>_`.
fn node_id(kind: &str, address: &str) -> String {
    let mut s = format!("{kind}_");
    for c in address.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c);
        } else {
            let _ = write!(s, "_{:x}_", c as u32);
        }
    }
    s
}

/// The live id of the owned resource at `address`, if there is one (the
/// smallest id when a duplicate exists).
fn owned_id<'a, T: 'a>(
    items: impl Iterator<Item = &'a T>,
    tags: impl Fn(&T) -> &Tags,
    id: impl Fn(&T) -> &str,
    plan: &str,
    address: &Address,
) -> Option<String> {
    items
        .filter(|i| {
            owned_by(tags(i), plan) && tags(i).get(TAG_KEY).map(String::as_str) == Some(address.as_str())
        })
        .map(|i| id(i).to_string())
        .min()
}

/// Ids found in live state, by address.
struct Ids<'a> {
    desired: &'a Desired,
    live: Option<&'a Live>,
}

impl Ids<'_> {
    fn vpc(&self, name: &str) -> Option<String> {
        let v = self.desired.vpcs.get(name)?;
        if let Some(id) = v.source.adopted_id() {
            return Some(id.to_string());
        }
        let live = self.live?;
        owned_id(
            live.vpcs.iter(),
            |x| &x.tags,
            |x| &x.id,
            &self.desired.name,
            &Address::vpc(name),
        )
    }
    fn subnet(&self, vpc: &str, name: &str, source_id: Option<&str>) -> Option<String> {
        if let Some(id) = source_id {
            return Some(id.to_string());
        }
        let live = self.live?;
        owned_id(
            live.subnets.iter(),
            |x| &x.tags,
            |x| &x.id,
            &self.desired.name,
            &Address::subnet(vpc, name),
        )
    }
    fn route_table(&self, vpc: &str, name: &str, source_id: Option<&str>) -> Option<String> {
        if let Some(id) = source_id {
            return Some(id.to_string());
        }
        let live = self.live?;
        owned_id(
            live.route_tables.iter(),
            |x| &x.tags,
            |x| &x.id,
            &self.desired.name,
            &Address::route_table(vpc, name),
        )
    }
    fn endpoint(&self, name: &str) -> Option<String> {
        let live = self.live?;
        owned_id(
            live.endpoints.iter().filter(|e| !e.is_gone()),
            |x| &x.tags,
            |x| &x.id,
            &self.desired.name,
            &Address::endpoint(name),
        )
    }
    fn peering(&self, name: &str) -> Option<String> {
        let live = self.live?;
        owned_id(
            live.peerings.iter().filter(|p| !p.is_gone()),
            |x| &x.tags,
            |x| &x.id,
            &self.desired.name,
            &Address::peering(name),
        )
    }
}

/// The last label line: the live id, `not created`, or nothing offline.
fn id_line(live: bool, id: Option<String>) -> Option<String> {
    match (live, id) {
        (_, Some(id)) => Some(id),
        (true, None) => Some("not created".into()),
        (false, None) => None,
    }
}

fn label(mut lines: Vec<String>, id: Option<String>) -> Vec<String> {
    lines.extend(id);
    lines
}

/// The id of the node a subnet or route-table reference points at; an
/// `Id` not declared in the VPC gets a node of its own.
fn ref_node(kind: &str, vpc: &str, r: &Ref, extra: &mut Vec<Node>) -> String {
    match r {
        Ref::Name(n) => node_id(kind, &format!("{vpc}.{n}")),
        Ref::Id(id) => {
            let nid = node_id(kind, &format!("{vpc}.{id}"));
            if !extra.iter().any(|n| n.id == nid) {
                let what = if kind == "subnet" { "subnet" } else { "route table" };
                extra.push(Node {
                    id: nid.clone(),
                    label: vec![format!("{what} {id}"), "referenced by id".into()],
                });
            }
            nid
        }
    }
}

fn build(desired: &Desired, live: Option<&Live>) -> Topology {
    let ids = Ids { desired, live };
    let on = live.is_some();
    let mut t = Topology::default();
    // Nodes referenced by id, per VPC.
    let mut extra: BTreeMap<String, Vec<Node>> = BTreeMap::new();
    for (ename, ep) in &desired.endpoints {
        let eid = node_id("endpoint", ename);
        let x = extra.entry(ep.vpc.clone()).or_default();
        match &ep.kind {
            EndpointKind::Gateway { route_tables } => {
                for r in route_tables {
                    let rt = ref_node("rt", &ep.vpc, r, x);
                    t.edges.push(Edge {
                        from: rt,
                        to: eid.clone(),
                        label: "S3 prefix list".into(),
                        directed: true,
                    });
                }
            }
            EndpointKind::Interface { subnets, .. } => {
                for r in subnets {
                    let sn = ref_node("subnet", &ep.vpc, r, x);
                    t.edges.push(Edge {
                        from: eid.clone(),
                        to: sn,
                        label: "ENI".into(),
                        directed: false,
                    });
                }
            }
        }
    }
    for (pname, p) in &desired.peerings {
        let pid = ids.peering(pname);
        let mut text = format!("peering {pname}");
        if let Some(id) = id_line(on, pid) {
            let _ = write!(text, " ({id})");
        }
        t.edges.push(Edge {
            from: node_id("vpc", &p.requester),
            to: node_id("vpc", &p.accepter),
            label: text,
            directed: false,
        });
        for (side, tables) in &p.routes {
            let other = if *side == p.requester {
                &p.accepter
            } else {
                &p.requester
            };
            let x = extra.entry(side.clone()).or_default();
            for r in tables {
                let rt = ref_node("rt", side, r, x);
                t.edges.push(Edge {
                    from: rt,
                    to: node_id("vpc", other),
                    label: format!("route via {pname}"),
                    directed: true,
                });
            }
        }
    }
    for (vname, v) in &desired.vpcs {
        let what = match &v.source {
            Source::Create(cidr) => cidr.to_string(),
            Source::Adopt(_) => "adopted".to_string(),
        };
        let mut nodes = Vec::new();
        for (sname, s) in &v.subnets {
            let (lines, adopted) = match &s.source {
                Source::Create(spec) => (
                    vec![format!("subnet {sname}"), format!("{} {}", spec.az, spec.cidr)],
                    None,
                ),
                Source::Adopt(id) => (
                    vec![format!("subnet {sname}"), "adopted".into()],
                    Some(id.as_str()),
                ),
            };
            nodes.push(Node {
                id: node_id("subnet", &format!("{vname}.{sname}")),
                label: label(lines, id_line(on, ids.subnet(vname, sname, adopted))),
            });
        }
        for (tname, rt) in &v.route_tables {
            let rid = node_id("rt", &format!("{vname}.{tname}"));
            let adopted = rt.source.adopted_id();
            if let Source::Create(spec) = &rt.source {
                for s in &spec.subnets {
                    t.edges.push(Edge {
                        from: rid.clone(),
                        to: node_id("subnet", &format!("{vname}.{s}")),
                        label: "associated".into(),
                        directed: false,
                    });
                }
            }
            let mut lines = vec![format!("route table {tname}")];
            if adopted.is_some() {
                lines.push("adopted".into());
            }
            nodes.push(Node {
                id: rid,
                label: label(lines, id_line(on, ids.route_table(vname, tname, adopted))),
            });
        }
        for (ename, ep) in desired.endpoints.iter().filter(|(_, e)| e.vpc == *vname) {
            nodes.push(Node {
                id: node_id("endpoint", ename),
                label: label(
                    vec![
                        format!("{} endpoint {ename}", ep.endpoint_type()),
                        ep.service.clone(),
                    ],
                    id_line(on, ids.endpoint(ename)),
                ),
            });
        }
        nodes.extend(extra.remove(vname).unwrap_or_default());
        t.regions.entry(v.region.clone()).or_default().push(Vpc {
            id: node_id("vpc", vname),
            label: label(vec![format!("VPC {vname}"), what], id_line(on, ids.vpc(vname))),
            nodes,
        });
    }
    t
}

/// Text inside a Mermaid `"…"` label.
fn mermaid_text(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| l.replace('"', "#quot;"))
        .collect::<Vec<_>>()
        .join("<br/>")
}

/// Text inside a DOT `"…"` string.
fn dot_text(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| l.replace('\\', "\\\\").replace('"', "\\\""))
        .collect::<Vec<_>>()
        .join("\\n")
}

fn mermaid(plan: &str, t: &Topology) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "flowchart LR");
    let _ = writeln!(s, "  %% s3ep plan {plan}");
    for (region, vpcs) in &t.regions {
        let _ = writeln!(
            s,
            "  subgraph {} [\"region {region}\"]",
            node_id("region", region)
        );
        for v in vpcs {
            let _ = writeln!(s, "    subgraph {} [\"{}\"]", v.id, mermaid_text(&v.label));
            for n in &v.nodes {
                let _ = writeln!(s, "      {}[\"{}\"]", n.id, mermaid_text(&n.label));
            }
            let _ = writeln!(s, "    end");
        }
        let _ = writeln!(s, "  end");
    }
    for e in &t.edges {
        let arrow = if e.directed { "-->" } else { "---" };
        let _ = writeln!(
            s,
            "  {} {arrow}|\"{}\"| {}",
            e.from,
            mermaid_text(std::slice::from_ref(&e.label)),
            e.to
        );
    }
    s
}

fn dot(plan: &str, t: &Topology) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "digraph \"{}\" {{", dot_text(&[format!("s3ep {plan}")]));
    let _ = writeln!(s, "  rankdir=LR;");
    let _ = writeln!(s, "  compound=true;");
    let _ = writeln!(s, "  node [shape=box];");
    for (region, vpcs) in &t.regions {
        let _ = writeln!(s, "  subgraph \"cluster_{}\" {{", node_id("region", region));
        let _ = writeln!(s, "    label=\"{}\";", dot_text(&[format!("region {region}")]));
        for v in vpcs {
            let _ = writeln!(s, "    subgraph \"cluster_{}\" {{", v.id);
            let _ = writeln!(s, "      label=\"{}\";", dot_text(&v.label));
            // An invisible point stands for the VPC itself (peering edges).
            let _ = writeln!(s, "      \"{}\" [shape=point, style=invis];", v.id);
            for n in &v.nodes {
                let _ = writeln!(s, "      \"{}\" [label=\"{}\"];", n.id, dot_text(&n.label));
            }
            let _ = writeln!(s, "    }}");
        }
        let _ = writeln!(s, "  }}");
    }
    for e in &t.edges {
        let mut attrs = format!("label=\"{}\"", dot_text(std::slice::from_ref(&e.label)));
        if !e.directed {
            attrs.push_str(", dir=none");
        }
        for (end, side) in [(&e.from, "ltail"), (&e.to, "lhead")] {
            if end.starts_with("vpc_") {
                let _ = write!(attrs, ", {side}=\"cluster_{end}\"");
            }
        }
        let _ = writeln!(s, "  \"{}\" -> \"{}\" [{attrs}];", e.from, e.to);
    }
    let _ = writeln!(s, "}}");
    s
}

/// The graph of `desired`, with live ids when `live` is given.
pub fn render(desired: &Desired, live: Option<&Live>, format: Format) -> String {
    let t = build(desired, live);
    match format {
        Format::Mermaid => mermaid(&desired.name, &t),
        Format::Dot => dot(&desired.name, &t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_are_unique_and_safe() {
        assert_eq!(node_id("subnet", "seoul.app-a"), "subnet_seoul_2e_app_2d_a");
        assert_ne!(node_id("subnet", "a.b-c"), node_id("subnet", "a.b_c"));
        assert!(node_id("rt", "v.rtb-0abc")
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_'));
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(mermaid_text(&["a\"b".into(), "c".into()]), "a#quot;b<br/>c");
        assert_eq!(dot_text(&["a\"b\\".into(), "c".into()]), "a\\\"b\\\\\\nc");
    }
}
