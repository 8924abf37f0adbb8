#include "gateway/listen/tls_context.h"

#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/context.hpp>

namespace helsebro::listen {

namespace ssl = boost::asio::ssl;

std::unique_ptr<ssl::context> make_server_tls_context(const config::TlsConfig& tls) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  ctx->use_certificate_chain_file(tls.cert_file);
  ctx->use_private_key_file(tls.key_file, ssl::context::pem);
  if (!tls.ca_file.empty()) {
    ctx->load_verify_file(tls.ca_file);
    ssl::verify_mode mode = ssl::verify_peer;
    if (tls.require_client_certificate) mode |= ssl::verify_fail_if_no_peer_cert;
    ctx->set_verify_mode(mode);
  }
  return ctx;
}

namespace {

void append_hex_byte(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out += "\\x";
  out += kHex[c >> 4];
  out += kHex[c & 15];
}

// A value's text: UTF-8 as it is, '/' and '\\' escaped, control characters as \xHH.
void append_value(std::string& out, const unsigned char* text, int size) {
  for (int i = 0; i < size; ++i) {
    const unsigned char c = text[i];
    if (c == '/' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      append_hex_byte(out, c);
    } else {
      out += static_cast<char>(c);
    }
  }
}

}  // namespace

std::string certificate_subject(X509* cert) {
  const X509_NAME* name = X509_get_subject_name(cert);
  std::string out;
  const int count = X509_NAME_entry_count(name);
  for (int i = 0; i < count; ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
    const ASN1_OBJECT* object = X509_NAME_ENTRY_get_object(entry);
    const int nid = OBJ_obj2nid(object);
    out += '/';
    if (const char* short_name = nid == NID_undef ? nullptr : OBJ_nid2sn(nid)) {
      out += short_name;
    } else {
      char oid[128];
      OBJ_obj2txt(oid, sizeof oid, object, 1);
      out += oid;
    }
    out += '=';
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(entry);
    unsigned char* utf8 = nullptr;
    const int size = ASN1_STRING_to_UTF8(&utf8, data);
    if (size >= 0) {
      append_value(out, utf8, size);
      OPENSSL_free(utf8);
    } else {
      // Not convertible (a malformed string): its bytes, each as \xHH.
      const unsigned char* raw = ASN1_STRING_get0_data(data);
      for (int j = 0; j < ASN1_STRING_length(data); ++j) append_hex_byte(out, raw[j]);
    }
  }
  return out;
}

std::string peer_certificate_subject(ssl_st* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return {};
  std::string subject = certificate_subject(cert);
  X509_free(cert);
  return subject;
}

bool subject_allowed(const std::vector<config::SenderRuleConfig>& allowed,
                     const std::string& subject) {
  if (allowed.empty()) return true;
  if (subject.empty()) return false;
  for (const auto& rule : allowed) {
    if (rule.certificate_subject == subject) return true;
  }
  return false;
}

}  // namespace helsebro::listen
