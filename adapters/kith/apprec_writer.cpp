#include "adapters/kith/apprec_writer.h"

#include <chrono>
#include <ctime>
#include <pugixml.hpp>

#include "adapters/kith/strings.h"

namespace helsebro::kith {
namespace {

constexpr const char* kNamespace10 = "http://www.kith.no/xmlstds/apprec/2004-11-21";
constexpr const char* kNamespace11 = "http://www.kith.no/xmlstds/apprec/2012-02-15";

void add_text(pugi::xml_node parent, const char* name, const std::string& text) {
  if (!text.empty()) parent.append_child(name).text().set(text.c_str());
}

// A CS element (V and DN; neither when both are empty).
void add_cs(pugi::xml_node parent, const char* name, std::string_view v, std::string_view dn,
            bool always = false) {
  if (v.empty() && dn.empty() && !always) return;
  pugi::xml_node n = parent.append_child(name);
  if (!v.empty()) n.append_attribute("V").set_value(std::string(v).c_str());
  if (!dn.empty()) n.append_attribute("DN").set_value(std::string(dn).c_str());
}

// The identifier an AppRec names a party by: its HER-id when it has one, else its first.
std::size_t main_id(const Party& p) {
  for (std::size_t i = 0; i < p.ids.size(); ++i) {
    if (p.ids[i].type.v == "HER" && !p.ids[i].id.empty()) return i;
  }
  return 0;
}

// Name, Id and TypeId, by the party's main identifier.
void add_name_and_id(pugi::xml_node n, const Party& p, std::size_t main) {
  add_text(n, "Name", p.name);
  if (main < p.ids.size() && !p.ids[main].id.empty()) {
    add_text(n, "Id", p.ids[main].id);
    add_cs(n, "TypeId", p.ids[main].type.v, p.ids[main].type.dn);
  }
}

// AdditionalId for every identifier but the main one.
void add_additional_ids(pugi::xml_node n, const Party& p, std::size_t main) {
  for (std::size_t i = 0; i < p.ids.size(); ++i) {
    if (i == main || p.ids[i].id.empty()) continue;
    pugi::xml_node extra = n.append_child("AdditionalId");
    add_text(extra, "Id", p.ids[i].id);
    add_cs(extra, "Type", p.ids[i].type.v, p.ids[i].type.dn, true);
  }
}

// Dept, HCPerson and HCProf: Name, Id, TypeId, AdditionalId*.
void add_entity(pugi::xml_node n, const Party& p) {
  const std::size_t main = main_id(p);
  add_name_and_id(n, p, main);
  add_additional_ids(n, p, main);
}

// AppRec's Dept does not nest: nested units are listed in document order, their people
// gathered under the Inst.
void flatten(const Party& p, std::vector<const Party*>& units, std::vector<const Party*>& persons) {
  for (const Party& person : p.persons) persons.push_back(&person);
  for (const Party& u : p.units) {
    units.push_back(&u);
    flatten(u, units, persons);
  }
}

void add_hcp(pugi::xml_node holder, const Party& party) {
  pugi::xml_node hcp = holder.append_child("HCP");
  if (party.person) {
    add_entity(hcp.append_child("HCProf"), party);
    return;
  }
  std::vector<const Party*> units;
  std::vector<const Party*> persons;
  flatten(party, units, persons);
  pugi::xml_node inst = hcp.append_child("Inst");
  const std::size_t main = main_id(party);
  add_name_and_id(inst, party, main);
  for (const Party* u : units) add_entity(inst.append_child("Dept"), *u);
  add_additional_ids(inst, party, main);
  for (const Party* person : persons) add_entity(inst.append_child("HCPerson"), *person);
}

bool digits(std::string_view s, std::size_t from, std::size_t count) {
  if (s.size() < from + count) return false;
  for (std::size_t i = from; i < from + count; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

int number(std::string_view s, std::size_t from, std::size_t count) {
  int n = 0;
  for (std::size_t i = from; i < from + count; ++i) n = n * 10 + (s[i] - '0');
  return n;
}

// YYYY-MM-DD, a day that exists (xs:date has no year 0000).
bool is_date(std::string_view s) {
  if (!(s.size() == 10 && digits(s, 0, 4) && s[4] == '-' && digits(s, 5, 2) && s[7] == '-' && digits(s, 8, 2))) {
    return false;
  }
  const std::chrono::year_month_day day{std::chrono::year(number(s, 0, 4)),
                                        std::chrono::month(static_cast<unsigned>(number(s, 5, 2))),
                                        std::chrono::day(static_cast<unsigned>(number(s, 8, 2)))};
  return number(s, 0, 4) > 0 && day.ok();
}

// YYYY-MM-DDThh:mm:ss, optional fraction, optional Z or ±hh:mm.
bool is_date_time(std::string_view s) {
  if (s.size() < 19 || !is_date(s.substr(0, 10)) || s[10] != 'T' || !digits(s, 11, 2) ||
      s[13] != ':' || !digits(s, 14, 2) || s[16] != ':' || !digits(s, 17, 2)) {
    return false;
  }
  if (number(s, 11, 2) > 23 || number(s, 14, 2) > 59 || number(s, 17, 2) > 59) return false;
  std::size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    const std::size_t start = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  if (i == s.size()) return true;
  if (s[i] == 'Z') return i + 1 == s.size();
  if (!((s[i] == '+' || s[i] == '-') && s.size() == i + 6 && digits(s, i + 1, 2) && s[i + 3] == ':' &&
        digits(s, i + 4, 2))) {
    return false;
  }
  const int zone = number(s, i + 1, 2) * 60 + number(s, i + 4, 2);
  return number(s, i + 4, 2) <= 59 && zone <= 14 * 60;  // at most ±14:00
}

std::string issue_date(const std::string& original, const std::string& fallback) {
  if (is_date_time(original)) return original;
  if (is_date(original)) return cat({original, "T00:00:00"});
  return fallback;
}

class StringWriter final : public pugi::xml_writer {
 public:
  void write(const void* data, std::size_t size) override {
    out.append(static_cast<const char*>(data), size);
  }
  std::string out;
};

}  // namespace

std::string format_date_time(EpochMillis now) {
  const std::time_t seconds = static_cast<std::time_t>(now / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

AppRecRequest answer_to(const MessageHeader& header, std::size_t receiver_index) {
  AppRecRequest r;
  if (receiver_index < header.receivers.size()) r.sender = header.receivers[receiver_index];
  if (header.sender) r.receiver = *header.sender;
  r.original_type = header.type;
  r.original_issue_date = header.gen_date;
  r.original_id = header.msg_id;
  return r;
}

Result<std::string> write_apprec(const AppRecRequest& request) {
  if (request.status == AppRecStatus::kOk && !request.errors.empty()) {
    return Error{Errc::kInvalidValue, "an AppRec with status 1 (OK) carries no Error"};
  }
  if (request.status != AppRecStatus::kOk && request.errors.empty()) {
    return Error{Errc::kInvalidValue, "an AppRec with status 2 or 3 needs at least one Error"};
  }
  const bool v10 = request.version == AppRecVersion::kV1_0;
  const std::string gen_date = format_date_time(request.now);

  pugi::xml_document doc;
  pugi::xml_node decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version").set_value("1.0");
  decl.append_attribute("encoding").set_value("UTF-8");
  pugi::xml_node root = doc.append_child("AppRec");
  root.append_attribute("xmlns").set_value(v10 ? kNamespace10 : kNamespace11);
  add_cs(root, "MsgType", "APPREC", "Applikasjonskvittering");
  add_text(root, "MIGversion", v10 ? "1.0 2004-11-21" : "v1.1 2012-02-15");
  add_text(root, "SoftwareName", request.software_name);
  add_text(root, "SoftwareVersion", request.software_version);
  add_text(root, "GenDate", gen_date);
  root.append_child("Id").text().set(request.id.c_str());
  add_hcp(root.append_child("Sender"), request.sender);
  add_hcp(root.append_child("Receiver"), request.receiver);
  add_cs(root, "Status", code_of(request.status), display_of(request.status));
  for (const AppRecError& e : request.errors) {
    const AppRecCodeInfo& code = info(e.code);
    pugi::xml_node error = root.append_child("Error");
    error.append_attribute("V").set_value(std::string(code.code).c_str());
    error.append_attribute("S").set_value(std::string(kErrorCodeListOid).c_str());
    error.append_attribute("DN").set_value(std::string(code.display).c_str());
    if (!e.text.empty()) error.append_attribute("OT").set_value(e.text.c_str());
  }
  pugi::xml_node original = root.append_child("OriginalMsgId");
  add_cs(original, "MsgType", request.original_type.v, request.original_type.dn, true);
  original.append_child("IssueDate")
      .text()
      .set(issue_date(request.original_issue_date, gen_date).c_str());
  original.append_child("Id").text().set(request.original_id.c_str());

  StringWriter writer;
  doc.save(writer, "  ", pugi::format_indent, pugi::encoding_utf8);
  return std::move(writer.out);
}

}  // namespace helsebro::kith
