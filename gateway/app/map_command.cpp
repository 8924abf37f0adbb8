#include "gateway/app/map_command.h"

#include <rapidjson/document.h>
#include <rapidjson/reader.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <fstream>
#include <ostream>
#include <sstream>

#include "adapters/hl7v2/parser.h"
#include "adapters/hl7v2/source_view.h"
#include "gateway/app/mappings.h"

namespace helsebro::app {

Result<mapping::Translation> map_message(const mapping::MappingSet& set, std::string_view bytes) {
  auto message = hl7v2::parse(bytes);
  if (!message) return message.error();
  const std::size_t msh = message->find_segment("MSH");
  const std::string type = message->decode(message->component(msh, 9, 1, 1));
  const std::string trigger = message->decode(message->component(msh, 9, 1, 2));
  const std::string message_type = trigger.empty() ? type : type + "^" + trigger;
  const mapping::Mapping* mapping = set.find("hl7v2", message_type);
  if (mapping == nullptr) {
    return Error{Errc::kNoMapping, "no mapping takes " + message_type, Location{"MSH", 1, 9}};
  }
  hl7v2::SourceView view(*message);
  const std::string control_id = message->decode(message->field(msh, 10));
  return mapping->translate(view, {"map:" + control_id, message_type, 0});
}

int map_file(const config::Config& config, const std::string& file, std::ostream& out, std::ostream& err) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    err << "helsebro map: " << file << ": cannot be read\n";
    return 2;
  }
  std::ostringstream bytes;
  bytes << in.rdbuf();
  auto set = load_mappings(config.mappings_dir);
  if (!set) {
    err << "helsebro map: mappings: " << set.error().detail << "\n";
    return 2;
  }
  auto translated = map_message(**set, bytes.str());
  if (!translated) {
    err << file << ": " << translated.error().message() << "\n";
    return 1;
  }
  // Re-indent without turning numbers into doubles: decimals keep the sender's digits.
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
  writer.SetIndent(' ', 2);
  rapidjson::Reader reader;
  rapidjson::StringStream stream(translated->bundle.c_str());
  reader.Parse<rapidjson::kParseNumbersAsStringsFlag>(stream, writer);
  out << buffer.GetString() << "\n";
  return 0;
}

}  // namespace helsebro::app
