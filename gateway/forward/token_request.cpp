#include "gateway/forward/token_request.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>

#include "gateway/forward/jwt.h"

namespace helsebro::forward {
namespace {

constexpr std::size_t kMaxDescription = 200;

bool form_safe(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '*';
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Keeps printable ASCII only, short: a description goes into logs and the journal.
std::string printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kMaxDescription)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

}  // namespace

std::string form_urlencode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (form_safe(c)) {
      out.push_back(ch);
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

std::string form_encode(const FormFields& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out.push_back('&');
    out.append(form_urlencode(name)).append(1, '=').append(form_urlencode(value));
  }
  return out;
}

std::string basic_authorization(std::string_view client_id, std::string_view client_secret) {
  std::string credentials = form_urlencode(client_id);
  credentials.append(1, ':').append(form_urlencode(client_secret));
  std::string header = "Basic ";
  header.append(base64_encode(credentials));
  return header;
}

Result<TokenGrant> parse_token_response(std::string_view body) {
  auto bad = [](std::string why) {
    return Error{Errc::kUpstreamTransient, "token response " + why};
  };
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) return bad("is not a JSON object");
  const auto token = doc.FindMember("access_token");
  if (token == doc.MemberEnd() || !token->value.IsString() || token->value.GetStringLength() == 0) {
    return bad("has no access_token");
  }
  // The token goes into every request's Authorization header, which carries neither control
  // characters nor spaces, and which servers (and Beast) take only up to a size.
  const std::string_view value(token->value.GetString(), token->value.GetStringLength());
  if (value.size() > kMaxAccessTokenBytes) {
    return bad("has an access_token of " + std::to_string(value.size()) + " bytes; at most " +
               std::to_string(kMaxAccessTokenBytes) + " fit in a request header");
  }
  if (std::any_of(value.begin(), value.end(), [](char c) { return c < 0x21 || c > 0x7E; })) {
    return bad("has an access_token with a character a request header cannot carry");
  }
  const auto type = doc.FindMember("token_type");
  if (type == doc.MemberEnd() || !type->value.IsString() ||
      !iequals(type->value.GetString(), "Bearer")) {
    return bad("has a token_type other than Bearer");
  }
  TokenGrant grant;
  grant.access_token.assign(token->value.GetString(), token->value.GetStringLength());
  const auto expires = doc.FindMember("expires_in");
  if (expires != doc.MemberEnd()) {
    if (!expires->value.IsNumber()) return bad("has a non-numeric expires_in");
    grant.expires_in_seconds = expires->value.GetDouble();
  }
  return grant;
}

std::string describe_token_error(int status, std::string_view body) {
  std::string out = "HTTP " + std::to_string(status);
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) return out;
  const auto error = doc.FindMember("error");
  if (error != doc.MemberEnd() && error->value.IsString()) {
    out.append(1, ' ').append(printable(error->value.GetString()));
  }
  const auto description = doc.FindMember("error_description");
  if (description != doc.MemberEnd() && description->value.IsString()) {
    out.append(": ").append(printable(description->value.GetString()));
  }
  return out;
}

}  // namespace helsebro::forward
