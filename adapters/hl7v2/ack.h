#pragma once
// HL7 v2 acknowledgements: MSH with sender and receiver swapped (same version, delimiters and
// charset as the message answered), MSA with the answered control id, ERR naming the problem.

#include <optional>
#include <string>

#include "adapters/hl7v2/message.h"
#include "gateway/core/error.h"
#include "gateway/core/message.h"

namespace helsebro::hl7v2 {

/// Original mode AA/AE/AR; enhanced mode commit acknowledgements CA/CE/CR.
enum class AckCode { kAA, kAE, kAR, kCA, kCE, kCR };
std::string_view to_string(AckCode code);

struct AckRequest {
  const Message* message = nullptr;  // the message answered; null when it could not be read
  std::string_view raw_input;        // the raw frame, to salvage MSH fields when message is null
  AckCode code = AckCode::kAA;
  std::optional<Error> error;        // for AE/AR/CE/CR: becomes an ERR segment and MSA-3
  /// MSH-10 of the ACK itself. Longer than 20 characters, it is shortened for versions before
  /// 2.7, whose MSH-10 holds 20: a UUID to its first 12 and last 8 hex digits (time and random
  /// bits), anything else to its first 20 characters.
  std::string control_id;
  EpochMillis now = 0;
  /// The character set the caller will encode the ACK in, as MSH-18 names it ("8859/1"): its
  /// MSH-18 then says so, whatever the message declared (a channel's charset or fallback may
  /// have overruled it). Empty: the message's MSH-18 is echoed.
  std::string charset;
  std::string application = "HELSEBRO";
  std::string facility = "HELSEBRO";
};

/// A time as HL7 writes it (YYYYMMDDHHMMSS+0000, UTC): MSH-7 and BHS-7 of what Helsebro answers.
std::string hl7_timestamp(EpochMillis now);

/// The ACK as UTF-8 text, segments terminated by '\r'. Callers encode it to the message's charset.
std::string build_ack(const AckRequest& request);

/// MSA-1 and MSA-2 of an ACK, for clients and tests.
struct AckSummary {
  std::string code;
  std::string control_id;
  std::string text;
};
std::optional<AckSummary> read_ack(std::string_view ack);

}  // namespace helsebro::hl7v2
