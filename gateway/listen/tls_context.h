#pragma once
// TLS for the listeners (MLLP and HTTPS): one server context per listener, and who the client
// is. Only boost::asio::ssl::context is named here; its header stays in the .cpp files.

#include <memory>
#include <string>
#include <vector>

#include "gateway/config/config.h"

namespace boost::asio::ssl {
class context;
}
struct ssl_st;   // OpenSSL's SSL
struct x509_st;  // OpenSSL's X509

namespace helsebro::listen {

/// A TLS 1.2+ server context with the listener's certificate chain and key; with a CA file,
/// client certificates are verified (and required when the configuration says so). Throws
/// std::system_error when a file cannot be loaded.
std::unique_ptr<boost::asio::ssl::context> make_server_tls_context(const config::TlsConfig& tls);

/// The verified client certificate's subject (certificate_subject()); empty without a client
/// certificate.
std::string peer_certificate_subject(ssl_st* ssl);

/// A certificate's subject as allowedSenders rules write it: each attribute in certificate
/// order as "/SHORTNAME=value", the value in UTF-8 ("/C=NO/O=Fjellgården legekontor/CN=lab"),
/// as OpenSSL's one-line form has it for ASCII names, but never cut short and without OpenSSL's
/// \xHH for letters such as æ, ø and å. A '/' or '\' inside a value is written "\/" or "\\",
/// so that no value can pass for another attribute; control characters and bytes that are not
/// UTF-8 as \xHH.
std::string certificate_subject(x509_st* cert);

/// Whether a client certificate subject is one of the allowed senders' (certificateSubject
/// rules only). No rules: anyone is allowed.
bool subject_allowed(const std::vector<config::SenderRuleConfig>& allowed,
                     const std::string& subject);

}  // namespace helsebro::listen
