#include "gateway/listen/tls_context.h"

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

std::string peer_certificate_subject(ssl_st* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return {};
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
  X509_free(cert);
  return buf;
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
