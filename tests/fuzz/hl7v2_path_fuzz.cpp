// Fuzz target: arbitrary text through compile_path; a path that compiles is evaluated with
// SourceView against a fixed synthetic message, from the root and from nodes at every level,
// and every node it reaches is read (text, is_null, locate). Oracles: the nodes lie where the
// path says, and their raw text lies inside the message.

#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/hl7v2/parser.h"
#include "adapters/hl7v2/path.h"
#include "adapters/hl7v2/source_view.h"
#include "tests/fuzz/fuzz_target.h"

namespace helsebro::fuzz {
namespace {

using mapping::SourceNode;

// Synthetic: repetitions, components, sub-components, escapes, an explicit null, empty and
// missing fields, repeated segments and a Z-segment.
constexpr std::string_view kSample =
    "MSH|^~\\&|LAB|SYKEHUS|HELSEBRO|NHN|20240115103000||ORU^R01^ORU_R01|MSG1|P|2.5.1\r"
    "PID|1||12345^^^SYKEHUS^MR~01010000000^^^NHN^FNR&2.16.578.1&ISO||Testesen^Test^^^Dr."
    "||19800101|F|||Gate 1\\S\\B^^Oslo^^0150^NOR||\"\"\r"
    "PV1|1|I|MED^101^1\r"
    "OBR|1|ORD1|FIL1|1234-5^Glukose^LN\r"
    "OBX|1|NM|1234-5^Glukose^LN||5.4|mmol/L|3.9-6.1|N|||F\r"
    "NTE|1||Fastende \\T\\ hvile\\.br\\linje 2 \\X41\\\r"
    "OBX|2|ST|9999-9^Kommentar^L||Tekst med \\F\\ og \\R\\||||||F\r"
    "OBX|3|CE|||A&B&C^D~E\r"
    "ZXY|1|~~|^^|&&\r";

const hl7v2::Message& sample() {
  static const hl7v2::Message message = *hl7v2::parse(kSample);
  return message;
}

bool inside(std::string_view inner, std::string_view outer) {
  return inner.empty() || (inner.data() >= outer.data() &&
                           inner.data() + inner.size() <= outer.data() + outer.size());
}

// Nodes of every kind to evaluate relative paths from.
std::vector<SourceNode> contexts(const hl7v2::SourceView& view) {
  std::vector<SourceNode> out{view.root(), SourceNode{hl7v2::kMessageNode, 0, 0, 0, 0, 0},
                              SourceNode{hl7v2::kGroupNode, 2, 5, 0, 0, 0}};
  for (std::string_view text : {"OBX", "PID-3", "PID-3[2].5", "PID-3[2].5.2", "OBX[3]-5.1.3",
                                "ZXY-2", "MSH-2", "PID-13", "group(OBR)", "group(OBX)"}) {
    view.select(view.root(), **hl7v2::compile_path(text), out);
  }
  return out;
}

void read_node(const hl7v2::SourceView& view, const SourceNode& node) {
  const hl7v2::Message& m = sample();
  check(inside(view.raw(node), m.buffer()), "a node's raw text lies outside the message");
  (void)view.text(node);
  (void)view.is_null(node);
  const Location where = view.locate(node);
  if (node.kind >= hl7v2::kSegmentNode && node.kind <= hl7v2::kSubcomponentNode) {
    check(node.a < m.segment_count(), "a node past the last segment");
    check(where.segment == m.segment_id(node.a), "locate() names another segment");
  }
}

void check_absolute(const hl7v2::Path& path, const std::vector<SourceNode>& nodes) {
  const hl7v2::Message& m = sample();
  std::uint32_t last_segment = 0;
  for (const SourceNode& node : nodes) {
    check(node.a < m.segment_count(), "a node past the last segment");
    check(std::memcmp(m.segment_id(node.a).data(), path.segment, 3) == 0,
          "a node in a segment the path does not name");
    if (path.segment_index != 0) {
      check(node.a == nodes.front().a, "an indexed segment path reached two segments");
    }
    check(node.a >= last_segment, "nodes out of message order");
    last_segment = node.a;
    if (path.field != 0) check(node.b == path.field, "a node in another field");
  }
}

}  // namespace

void exercise_hl7v2_path(std::string_view input) {
  auto compiled = hl7v2::compile_path(input);
  const hl7v2::PathDialect dialect;
  auto generic = dialect.compile(input);
  check(compiled.has_value() == generic.has_value(), "PathDialect disagrees with compile_path");
  if (!compiled) {
    check(compiled.error().code == Errc::kInvalidValue, "a bad path with an unexpected code");
    check(!compiled.error().message().empty(), "a bad path with no reason");
    return;
  }
  const hl7v2::Path& path = **compiled;
  check(path.text() == input, "a path's text is not its source");
  (void)to_string(path.location());

  const hl7v2::SourceView view(sample());
  std::vector<SourceNode> nodes;
  view.select(view.root(), path, nodes);
  if (!path.relative) check_absolute(path, nodes);
  for (const SourceNode& context : contexts(view)) view.select(context, path, nodes);
  const auto relative = hl7v2::compile_path("@.1.2");
  for (std::size_t i = 0; i < nodes.size() && i < 256; ++i) {
    const SourceNode node = nodes[i];  // a copy: select() appends to `nodes`
    read_node(view, node);
    view.select(node, **relative, nodes);
  }
}

}  // namespace helsebro::fuzz

HELSEBRO_FUZZ_ENTRY(helsebro::fuzz::exercise_hl7v2_path)
