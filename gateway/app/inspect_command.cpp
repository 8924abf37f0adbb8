#include "gateway/app/inspect_command.h"

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <chrono>
#include <fstream>
#include <ostream>
#include <sstream>

#include "adapters/hl7v2/parser.h"
#include "gateway/core/files.h"

namespace helsebro::app {
namespace {

using Writer = rapidjson::PrettyWriter<rapidjson::StringBuffer>;

void string(Writer& w, std::string_view value) {
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void key_value(Writer& w, const char* key, std::string_view value) {
  w.Key(key);
  string(w, value);
}

// Byte positions are offsets in the message's UTF-8 text plus where the message starts in the file.
void position(Writer& w, const hl7v2::Span& span, std::size_t base) {
  w.Key("at");
  w.StartArray();
  w.Uint64(base + span.begin);
  w.Uint64(base + span.end);
  w.EndArray();
}

void write_component(Writer& w, const hl7v2::Message& m, const hl7v2::ComponentEntry& comp,
                     std::size_t number, std::size_t base) {
  w.StartObject();
  w.Key("component");
  w.Uint64(number);
  position(w, comp.span, base);
  key_value(w, "value", m.decode(m.view(comp.span)));
  if (comp.sub_count > 1) {
    w.Key("subcomponents");
    w.StartArray();
    for (std::size_t s = 1; s <= comp.sub_count; ++s) string(w, m.decode(m.view(m.subcomponent_span(comp, s))));
    w.EndArray();
  }
  w.EndObject();
}

void write_field(Writer& w, const hl7v2::Message& m, std::size_t seg, std::size_t f, std::size_t base) {
  const hl7v2::FieldEntry* field = m.field_entry(seg, f);
  w.StartObject();
  w.Key("field");
  w.Uint64(f);
  position(w, field->span, base);
  key_value(w, "raw", m.view(field->span));
  const bool header = m.segment_id(seg) == "MSH" && f <= 2;
  if (header) {
    w.EndObject();
    return;
  }
  if (m.view(field->span) == "\"\"") {
    w.Key("null");
    w.Bool(true);
    w.EndObject();
    return;
  }
  w.Key("repetitions");
  w.StartArray();
  for (std::size_t r = 1; r <= field->rep_count; ++r) {
    const auto rep = m.rep_entry(seg, f, r);
    w.StartArray();
    for (std::size_t c = 1; c <= rep->comp_count; ++c) {
      write_component(w, m, *m.component_entry(seg, f, r, c), c, base);
    }
    w.EndArray();
  }
  w.EndArray();
  w.EndObject();
}

void write_message(Writer& w, const hl7v2::Message& m, std::size_t base) {
  w.StartObject();
  key_value(w, "charset", m.charset());
  const auto& d = m.delimiters();
  const char enc[] = {d.field, d.component, d.repetition, d.escape, d.subcomponent, d.truncation};
  key_value(w, "delimiters", std::string_view(enc, d.truncation ? 6 : 5));
  w.Key("segments");
  w.StartArray();
  for (std::size_t s = 0; s < m.segment_count(); ++s) {
    w.StartObject();
    key_value(w, "id", m.segment_id(s));
    position(w, m.segment_entry(s).span, base);
    w.Key("fields");
    w.StartArray();
    for (std::size_t f = 1; f <= m.field_count(s); ++f) {
      if (!m.field_entry(s, f)->span.empty()) write_field(w, m, s, f, base);
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

void write_error(Writer& w, const Error& e, std::size_t base) {
  w.StartObject();
  key_value(w, "code", info(e.code).name);
  key_value(w, "message", e.message());
  if (e.where.has_offset) {
    w.Key("offset");
    w.Uint64(base + e.where.byte_offset);
  }
  w.EndObject();
}

}  // namespace

int inspect_files(const InspectOptions& options, std::ostream& out, std::ostream& err) {
  int exit_code = 0;
  std::size_t messages = 0, bytes = 0;
  const auto started = std::chrono::steady_clock::now();
  hl7v2::Parser parser;
  hl7v2::Message message;
  for (const std::string& path : options.files) {
    const auto file = read_file(path);
    if (!file) {
      err << "helsebro inspect: " << path << ": cannot be read\n";
      return 2;
    }
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    w.SetIndent(' ', 2);
    w.StartObject();
    key_value(w, "file", path);
    const std::string& content = *file;
    auto slices = hl7v2::split_messages(content);
    if (!slices) {
      w.Key("error");
      write_error(w, slices.error(), 0);
      exit_code = 1;
    } else {
      w.Key("messages");
      w.StartArray();
      for (const auto& slice : *slices) {
        Result<void> parsed;
        for (long i = 0; i < options.repeat; ++i) parsed = parser.parse_into(slice.bytes, message);
        messages += static_cast<std::size_t>(options.repeat);
        bytes += slice.bytes.size() * static_cast<std::size_t>(options.repeat);
        if (!parsed) {
          w.StartObject();
          w.Key("error");
          write_error(w, parsed.error(), slice.offset);
          w.EndObject();
          exit_code = 1;
        } else if (!options.quiet) {
          write_message(w, message, slice.offset);
        }
      }
      w.EndArray();
    }
    w.EndObject();
    if (!options.quiet || exit_code != 0) out << buffer.GetString() << "\n";
  }
  if (options.quiet) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    out << "{\"messages\":" << messages << ",\"bytes\":" << bytes << ",\"seconds\":" << seconds
        << ",\"messages_per_second\":" << (seconds > 0 ? messages / seconds : 0)
        << ",\"mb_per_second\":" << (seconds > 0 ? bytes / seconds / 1e6 : 0) << "}\n";
  }
  return exit_code;
}

}  // namespace helsebro::app
