#pragma once
// What the corpus tests share: which files are HL7 v2 messages, reading them, one-line texts for
// the expectation files' columns, and the NDJSON lines of Bundles for corpus_bundles.test.mjs.

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string_view>
#include <string>
#include <vector>

namespace helsebro::corpus {

/// Message files only: data beside them (INDEX.json, *.md, *.tsv, *.csv, *.json, *.fhir, *.yml …)
/// has other extensions; license texts (LICENSE.txt, src/license/*.txt) are not messages.
inline bool is_message_file(const std::filesystem::path& relative) {
  static const std::vector<std::string> kExtensions{".hl7", ".txt", ".er7", ".msg"};
  for (const std::filesystem::path& part : relative) {
    std::string name = part.string();
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (name.rfind("license", 0) == 0) return false;
  }
  return std::find(kExtensions.begin(), kExtensions.end(), relative.extension().string()) !=
         kExtensions.end();
}

inline std::string read_bytes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Tabs and line ends of an error's text would break a file's columns; long texts are cut.
inline std::string one_line(std::string text, std::size_t max = 160) {
  for (char& c : text) {
    if (c == '\t' || c == '\r' || c == '\n') c = ' ';
  }
  if (text.size() > max) text.resize(max);
  return text;
}

/// An expectations file: its first four tab-separated columns identify a case, the rest (the
/// error's text) is for readers and not compared. Lines starting with '#' are comments.
using Expectations = std::map<std::string, std::string>;

inline Expectations read_expectations(const std::filesystem::path& file) {
  Expectations out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::size_t tab = std::string::npos;  // after the fourth column
    for (std::size_t from = 0, column = 0; column < 4; ++column, from = tab + 1) {
      tab = line.find('\t', from);
      if (tab == std::string::npos) break;
    }
    out[line.substr(0, tab)] = tab == std::string::npos ? std::string() : line.substr(tab + 1);
  }
  return out;
}

inline void write_expectations(const std::filesystem::path& file, std::string_view header,
                               const Expectations& cases) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << header;
  for (const auto& [key, detail] : cases) out << key << '\t' << detail << '\n';
}

/// "-" lines are expected cases that no longer happen, "+" lines new ones.
inline std::string diff(const Expectations& expected, const Expectations& actual) {
  std::ostringstream out;
  for (const auto& [key, detail] : expected) {
    if (!actual.count(key)) out << "- " << key << "\t" << detail << '\n';
  }
  for (const auto& [key, detail] : actual) {
    if (!expected.count(key)) out << "+ " << key << "\t" << detail << '\n';
  }
  return out.str();
}

// One NDJSON line. Raw line ends in valid JSON can only be whitespace between tokens (inside
// strings they are escaped), so dropping them keeps the Bundle as it is, on one line.
inline std::string ndjson_line(const std::string& file, std::size_t message, std::string_view input,
                        const std::string& bundle) {
  rapidjson::StringBuffer head;
  rapidjson::Writer<rapidjson::StringBuffer> writer(head);
  writer.StartObject();
  writer.Key("file");
  writer.String(file.c_str(), static_cast<rapidjson::SizeType>(file.size()));
  writer.Key("message");
  writer.Uint64(message);
  writer.Key("input");
  writer.String(input.data(), static_cast<rapidjson::SizeType>(input.size()));
  writer.Key("bundle");
  writer.RawValue("null", 4, rapidjson::kNullType);
  writer.EndObject();
  std::string line = head.GetString();
  line.resize(line.size() - 5);  // "null}"
  for (char c : bundle) {
    if (c != '\n' && c != '\r') line.push_back(c);
  }
  line += "}\n";
  return line;
}

}  // namespace helsebro::corpus
