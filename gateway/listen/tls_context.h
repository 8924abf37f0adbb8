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
struct ssl_st;  // OpenSSL's SSL

namespace helsebro::listen {

/// A TLS 1.2+ server context with the listener's certificate chain and key; with a CA file,
/// client certificates are verified (and required when the configuration says so). Throws
/// std::system_error when a file cannot be loaded.
std::unique_ptr<boost::asio::ssl::context> make_server_tls_context(const config::TlsConfig& tls);

/// The verified client certificate's subject, one-line as OpenSSL prints it
/// ("/C=NO/O=St. Olavs hospital/CN=lab"); empty without a client certificate.
std::string peer_certificate_subject(ssl_st* ssl);

/// Whether a client certificate subject is one of the allowed senders' (certificateSubject
/// rules only). No rules: anyone is allowed.
bool subject_allowed(const std::vector<config::SenderRuleConfig>& allowed,
                     const std::string& subject);

}  // namespace helsebro::listen
