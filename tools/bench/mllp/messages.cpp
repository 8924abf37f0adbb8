#include "messages.h"

#include <array>
#include <cstdio>
#include <set>

namespace helsebro::bench {
namespace {

constexpr std::array<const char*, 16> kFamilies = {
    "Nordmann",    "Hansen", "Johansen", "Sæther", "Ødegård", "Bjørnstad", "Larsen", "Håland",
    "Kristiansen", "Strøm",  "Aasen",    "Lie",    "Dahl",    "Hægeland",  "Næss",   "Berg"};
constexpr std::array<const char*, 8> kGivenF = {"Ingrid", "Åse",  "Kari",  "Sølvi",
                                                "Marte",  "Tone", "Bjørg", "Nora"};
constexpr std::array<const char*, 8> kGivenM = {"Kåre", "Ola",    "Øystein", "Håkon",
                                                "Per",  "Jørgen", "Lars",    "Even"};

// Lab analytes with NPU codes and UCUM units; values vary per message.
struct Analyte {
  const char* code;
  const char* name;
  const char* unit;
  const char* range;
  double low, high;  // the value drawn from [low, high]
};
constexpr std::array<Analyte, 10> kAnalytes = {{
    {"NPU02319", "Hemoglobin;B", "g/dL", "11.7-15.3", 10.5, 16.5},
    {"NPU02593", "Leukocytter;B", "10*9/L", "3.5-10.0", 2.8, 13.0},
    {"NPU03568", "Trombocytter;B", "10*9/L", "145-390", 120, 420},
    {"NPU18016", "Kreatinin;P", "umol/L", "45-90", 40, 140},
    {"NPU03429", "Natrium;P", "mmol/L", "137-145", 132, 148},
    {"NPU03230", "Kalium;P", "mmol/L", "3.5-4.4", 3.1, 5.2},
    {"NPU19748", "CRP;P", "mg/L", "0-5", 1, 120},
    {"NPU19661", "ALAT;P", "U/L", "10-45", 8, 90},
    {"NPU27783", "HbA1c;B", "mmol/mol", "20-42", 28, 75},
    {"NPU04144", "Glukose;P", "mmol/L", "4.0-6.0", 3.8, 11.5},
}};

int digit(char c) {
  return c - '0';
}

// The two mod-11 control digits of a fødselsnummer's first nine; -1 when none is possible.
int control_digits(const std::string& nine) {
  static constexpr int w1[] = {3, 7, 6, 1, 8, 9, 4, 5, 2};
  static constexpr int w2[] = {5, 4, 3, 2, 7, 6, 5, 4, 3, 2};
  int sum = 0;
  for (int i = 0; i < 9; ++i) sum += w1[i] * digit(nine[i]);
  int k1 = (11 - sum % 11) % 11;
  if (k1 == 10) return -1;
  sum = 0;
  for (int i = 0; i < 9; ++i) sum += w2[i] * digit(nine[i]);
  sum += w2[9] * k1;
  int k2 = (11 - sum % 11) % 11;
  if (k2 == 10) return -1;
  return k1 * 10 + k2;
}

void append_number(std::string& out, double value, int decimals) {
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  out.append(buf, static_cast<std::size_t>(n));
}

}  // namespace

bool valid_fnr(std::string_view fnr) {
  if (fnr.size() != 11) return false;
  for (char c : fnr) {
    if (c < '0' || c > '9') return false;
  }
  const int k = control_digits(std::string(fnr.substr(0, 9)));
  return k >= 0 && k == digit(fnr[9]) * 10 + digit(fnr[10]);
}

std::vector<Patient> make_patients(std::size_t count, std::uint32_t seed) {
  std::mt19937 random(seed);
  std::vector<Patient> out;
  std::set<std::string> seen;
  while (out.size() < count) {
    const int year = 1930 + static_cast<int>(random() % 90);  // 1930–2019
    const int month = 1 + static_cast<int>(random() % 12);
    const int day = 1 + static_cast<int>(random() % 28);
    // Individual numbers 000–499 were given to people born 1900–1999, 500–999 to 2000–2039.
    const int individual = (year < 2000 ? 0 : 500) + static_cast<int>(random() % 500);
    char nine[10];
    std::snprintf(nine, sizeof nine, "%02d%02d%02d%03d", day, month, year % 100, individual);
    const int k = control_digits(nine);
    if (k < 0) continue;
    char fnr[12];
    std::snprintf(fnr, sizeof fnr, "%s%02d", nine, k);
    if (!seen.insert(fnr).second) continue;
    Patient p;
    p.fnr = fnr;
    p.sex = (individual / 10) % 2 == 0 ? 'F' : 'M';  // the third individual digit: even for women
    p.family = kFamilies[random() % kFamilies.size()];
    p.given =
        p.sex == 'F' ? kGivenF[random() % kGivenF.size()] : kGivenM[random() % kGivenM.size()];
    char birth[9];
    std::snprintf(birth, sizeof birth, "%04d%02d%02d", year, month, day);
    p.birth_date = birth;
    out.push_back(std::move(p));
  }
  return out;
}

MessageFactory::MessageFactory(const std::vector<Patient>& patients, Mix mix,
                               std::string control_prefix, std::uint32_t seed)
    : patients_(patients), mix_(mix), prefix_(std::move(control_prefix)), random_(seed) {}

std::string MessageFactory::next(std::string& out) {
  const std::uint64_t n = counter_++;
  char tail[16];
  std::snprintf(tail, sizeof tail, "%08llX", static_cast<unsigned long long>(n));
  std::string control_id = prefix_;
  control_id.append(tail);
  const Patient& p = patients_[random_() % patients_.size()];
  const bool adt = mix_ == Mix::kAdt || (mix_ == Mix::kBoth && n % 2 == 0);
  out.clear();
  if (adt)
    adt_a01(out, p, control_id);
  else
    oru_r01(out, p, control_id);
  return control_id;
}

// About 620 bytes: MSH, EVN, PID, NK1, PV1, AL1, DG1.
void MessageFactory::adt_a01(std::string& out, const Patient& p, std::string_view control_id) {
  const unsigned room = 100 + random_() % 400;
  const unsigned bed = 1 + random_() % 4;
  const unsigned visit = 10000 + random_() % 89999;
  out.append("MSH|^~\\&|DIPS|AHUS|HELSEBRO|HSØ|20261124081500+0100||ADT^A01^ADT_A01|");
  out.append(control_id);
  out.append("|P|2.5|||AL|NE|NOR|UNICODE UTF-8\r");
  out.append("EVN|A01|20261124081500+0100||||20261124080000+0100\r");
  out.append("PID|1||").append(p.fnr).append("^^^^FNR~H").append(std::to_string(visit));
  out.append("^^^AHUS&2.16.578.1.12.4.1.4.102.7&ISO^PI||")
      .append(p.family)
      .append("^")
      .append(p.given);
  out.append("^^^^^L||").append(p.birth_date).append("|").append(1, p.sex);
  out.append("|||Storgata ")
      .append(std::to_string(1 + random_() % 90))
      .append("^^Lillestrøm^^2000^NOR^H||");
  out.append("^PRN^CP^^47^^9").append(std::to_string(1000000 + random_() % 8999999)).append("\r");
  out.append("NK1|1|").append(p.family).append(
      "^Håkon|SPO^Ektefelle^HL70063||||N^Next-of-Kin^HL70131\r");
  out.append("PV1|1|I|MED^").append(std::to_string(room)).append("^").append(std::to_string(bed));
  out.append(
      "^AHUS^^^^^|E|||1234567^Lege^Anne^^^^^^&2.16.578.1.12.4.1.4.4&ISO^^^^HPR|||MED|||||||||"
      "V2026");
  out.append(std::to_string(visit)).append("^^^AHUS&2.16.578.1.12.4.1.4.102.7&ISO^VN");
  out.append("|||||||||||||||||||||||||20261124080000+0100\r");
  out.append("AL1|1|DA|N01AB^Penicilliner^ATC|SV|Urtikaria|20190415\r");
  out.append("DG1|1|I10|I21.4^Akutt subendokardielt hjerteinfarkt^ICD10NO|||A\r");
}

// About 1.1 KB: MSH, PID, ORC, OBR, 6–10 OBX with NPU codes and UCUM units.
void MessageFactory::oru_r01(std::string& out, const Patient& p, std::string_view control_id) {
  const unsigned requisition = 100000 + random_() % 899999;
  const std::string req = std::to_string(requisition);
  out.append("MSH|^~\\&|LABSYS|OUS|HELSEBRO|HSØ|20261124101500+0100||ORU^R01^ORU_R01|");
  out.append(control_id);
  out.append("|P|2.5|||AL|NE|NOR|UNICODE UTF-8\r");
  out.append("PID|1||")
      .append(p.fnr)
      .append("^^^^FNR||")
      .append(p.family)
      .append("^")
      .append(p.given);
  out.append("^^^^^L||").append(p.birth_date).append("|").append(1, p.sex).append("\r");
  out.append("ORC|RE|REK-").append(req).append("^DIPS|L-").append(req);
  out.append("^LAB^2.16.578.1.12.4.1.2.99001^ISO||CM\r");
  out.append("OBR|1|REK-").append(req).append("^DIPS|L-").append(req);
  out.append(
      "^LAB^2.16.578.1.12.4.1.2.99001^ISO|KK^Klinisk kjemi^L|||20261124081500+0100|||||||||");
  out.append("1234567^Lege^Anne^^^^^^^^^^HPR||||||20261124100000+0100||CH|F\r");
  const std::size_t count = 6 + random_() % 5;
  for (std::size_t i = 0; i < count; ++i) {
    const Analyte& a = kAnalytes[i];
    const double value = a.low + (a.high - a.low) * (random_() % 1000) / 1000.0;
    out.append("OBX|")
        .append(std::to_string(i + 1))
        .append("|NM|")
        .append(a.code)
        .append("^")
        .append(a.name);
    out.append("^NLK||");
    append_number(out, value, value < 20 ? 1 : 0);
    out.append("|").append(a.unit).append("^").append(a.unit).append("^UCUM|").append(a.range);
    out.append("||||F|||20261124081500+0100\r");
  }
}

}  // namespace helsebro::bench
