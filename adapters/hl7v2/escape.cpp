#include "adapters/hl7v2/escape.h"

#include <algorithm>

#include "adapters/hl7v2/charset.h"

namespace helsebro::hl7v2 {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// \Xhhhh…\ : hex bytes in the message's charset.
bool decode_hex(std::string_view body, std::string_view single_byte_charset, std::string& out) {
  if (body.size() % 2 != 0) return false;
  std::string bytes;
  for (std::size_t i = 0; i < body.size(); i += 2) {
    const int hi = hex_digit(body[i]);
    const int lo = hex_digit(body[i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes.push_back(static_cast<char>(hi << 4 | lo));
  }
  if (!single_byte_charset.empty()) {
    const Charset charset = single_byte_charset == "8859/15" ? Charset::kLatin9 : Charset::kLatin1;
    for (char c : bytes) append_single_byte(out, static_cast<unsigned char>(c), charset);
    return true;
  }
  // UTF-8 message: keep valid sequences, replace broken ones so the output stays valid UTF-8.
  for (std::size_t i = 0; i < bytes.size();) {
    const std::size_t bad = find_invalid_utf8(std::string_view(bytes).substr(i));
    if (bad == std::string_view::npos) {
      out.append(bytes, i, std::string::npos);
      break;
    }
    out.append(bytes, i, bad);
    append_utf8(out, 0xFFFD);
    i += bad + 1;
  }
  return true;
}

// The count after a formatting command (".sp 2", ".sk3"): `otherwise` when there is none;
// -1 when it is not a number. At most kMostLines: eight bytes asking for a thousand lines would
// let a message grow a hundredfold as it is read.
constexpr int kMostLines = 9;

int command_count(std::string_view rest, int otherwise) {
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (rest.empty()) return otherwise;
  if (rest.front() == '+') rest.remove_prefix(1);
  if (rest.empty() || rest.size() > 6) return -1;
  int n = 0;
  for (const char c : rest) {
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
  }
  return std::min(n, kMostLines);
}

// HL7 v2 formatted text (FT, TX, CF; chapter 2 "Formatting codes"), read as plain text: what ends
// a line ends it, what moves along a line is spaces, the rest (fill mode, indents, centring
// beyond its line end) only shapes a printout. False for a command that is none of these.
bool format_command(std::string_view command, std::string& out) {
  const std::string_view name = command.substr(0, 2);
  const std::string_view rest = command.substr(std::min<std::size_t>(2, command.size()));
  if (name == "br" && rest.empty()) {
    out.push_back('\n');
    return true;
  }
  if (name == "sp") {  // end the line, and skip n lines (1 when no n)
    const int n = command_count(rest, 1);
    if (n < 0) return false;
    out.append(static_cast<std::size_t>(n) + 1, '\n');
    return true;
  }
  if (name == "ce" && rest.empty()) {  // end the line; the next is centred
    out.push_back('\n');
    return true;
  }
  if (name == "sk") {  // skip n positions to the right
    const int n = command_count(rest, 1);
    if (n < 0) return false;
    out.append(static_cast<std::size_t>(n), ' ');
    return true;
  }
  if ((name == "fi" || name == "nf") && rest.empty()) return true;  // fill mode on / off
  if (name == "in" || name == "ti") {  // indent, temporary indent: ±n
    std::string_view count = rest;
    while (!count.empty() && count.front() == ' ') count.remove_prefix(1);
    if (!count.empty() && count.front() == '-') count.remove_prefix(1);
    return command_count(count, 0) >= 0;
  }
  return false;
}

// Appends the meaning of one escape body (the text between two escape characters).
bool decode_one(std::string_view body, const Delimiters& d, std::string_view single_byte_charset,
                std::string& out) {
  if (body.size() == 1) {
    switch (body[0]) {
      case 'F': out.push_back(d.field); return true;
      case 'S': out.push_back(d.component); return true;
      case 'T': out.push_back(d.subcomponent); return true;
      case 'R': out.push_back(d.repetition); return true;
      case 'E': out.push_back(d.escape); return true;
      case 'P':
        if (d.truncation == '\0') return false;
        out.push_back(d.truncation);
        return true;
      case 'H':  // start highlighting: formatting only
      case 'N':  // normal text
        return true;
      default: return false;
    }
  }
  if (body.front() == '.') return format_command(body.substr(1), out);
  if (body.front() == 'X') return decode_hex(body.substr(1), single_byte_charset, out);
  // \Z…\ (locally defined), \C…\ and \M…\ (a switch of character set, ISO 2022): nothing
  // here knows their meaning, so they stay in the text as they came rather than vanish.
  return false;
}

}  // namespace

std::string decode_escapes(std::string_view raw, const Delimiters& d,
                           std::string_view single_byte_charset) {
  const std::size_t first = raw.find(d.escape);
  if (first == std::string_view::npos) return std::string(raw);
  std::string out(raw.substr(0, first));
  out.reserve(raw.size());
  for (std::size_t i = first; i < raw.size();) {
    if (raw[i] != d.escape) {
      out.push_back(raw[i++]);
      continue;
    }
    const std::size_t close = raw.find(d.escape, i + 1);
    if (close == std::string_view::npos || close == i + 1) {
      out.push_back(raw[i++]);  // lone or empty escape: keep it as text
      continue;
    }
    const std::string_view body = raw.substr(i + 1, close - i - 1);
    if (decode_one(body, d, single_byte_charset, out)) {
      i = close + 1;
    } else {
      out.append(raw.substr(i, close - i + 1));  // unknown: keep literally
      i = close + 1;
    }
  }
  return out;
}

std::string encode_escapes(std::string_view text, const Delimiters& d) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    char code = 0;
    if (c == d.escape) code = 'E';
    else if (c == d.field) code = 'F';
    else if (c == d.component) code = 'S';
    else if (c == d.subcomponent) code = 'T';
    else if (c == d.repetition) code = 'R';
    else if (d.truncation != '\0' && c == d.truncation) code = 'P';
    if (code != 0) {
      out.push_back(d.escape);
      out.push_back(code);
      out.push_back(d.escape);
    } else if (c == '\r' || c == '\n') {
      out.push_back(d.escape);
      out.append(".br");
      out.push_back(d.escape);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace helsebro::hl7v2
