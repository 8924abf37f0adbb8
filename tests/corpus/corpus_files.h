#pragma once
// What the HL7 v2 corpus tests share: which files are messages, reading them, and one-line texts
// for the expectation files' columns.

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
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

}  // namespace helsebro::corpus
