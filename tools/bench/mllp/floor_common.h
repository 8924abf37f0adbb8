#pragma once
// What the two floors of the MLLP benchmark (floor.cpp, floor_asio.cpp) share: reading MSH-10
// and writing the ACK that echoes it.

#include <algorithm>
#include <string>
#include <string_view>

#include "gateway/listen/mllp_framer.h"

namespace helsebro::bench {

/// MSH-10 of a message; empty when the MSH has fewer fields.
inline std::string_view control_id(std::string_view message) {
  const std::size_t end = std::min(message.find('\r'), message.size());
  std::size_t field_start = 0;
  int field = 0;
  for (std::size_t i = 0; i < end; ++i) {
    if (message[i] != '|') continue;
    ++field;  // the separator after "MSH" opens MSH-2; the ninth opens MSH-10
    if (field == 9) field_start = i + 1;
    if (field == 10) return message.substr(field_start, i - field_start);
  }
  return field >= 9 ? message.substr(field_start, end - field_start) : std::string_view{};
}

/// A framed commit acknowledgement (CA) of the message with control id `id`.
inline void append_ack(std::string& out, std::string_view id) {
  out.push_back(listen::MllpFramer::kStartBlock);
  out.append("MSH|^~\\&|FLOOR|FLOOR|LOAD|LOAD|20260101000000||ACK|").append(id).append("|P|2.5\rMSA|CA|");
  out.append(id).append("\r");
  out.push_back(listen::MllpFramer::kEndBlock);
  out.push_back(listen::MllpFramer::kCarriageReturn);
}

}  // namespace helsebro::bench
