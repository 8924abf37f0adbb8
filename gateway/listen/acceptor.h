#pragma once
// Opening a listening socket, the same way for every listener (Asio: include from listeners only).

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/socket_base.hpp>
#include <cstdint>
#include <string>

namespace helsebro::listen {

/// Resolves `host`, binds `port` (0: a free port) and listens; returns the port bound.
/// Throws std::system_error when the address cannot be bound.
inline std::uint16_t bind_and_listen(boost::asio::ip::tcp::acceptor& acceptor, const std::string& host,
                                     std::uint16_t port) {
  using tcp = boost::asio::ip::tcp;
  tcp::resolver resolver(acceptor.get_executor());
  const tcp::endpoint endpoint = *resolver.resolve(host, std::to_string(port)).begin();
  acceptor.open(endpoint.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(boost::asio::socket_base::max_listen_connections);
  return acceptor.local_endpoint().port();
}

}  // namespace helsebro::listen
