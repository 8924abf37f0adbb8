#pragma once
// Writing the application receipt (AppRec) that answers an e-message: version 1.0
// (http://www.kith.no/xmlstds/apprec/2004-11-21) or 1.1 (…/apprec/2012-02-15), as the channel
// asks. The receipt goes from the message's receiver back to its sender (sender and receiver
// swapped), echoes the message in OriginalMsgId (MsgType, IssueDate, Id), carries the status from
// code list 8258 and, unless the status is 1, at least one Error from code list 8221 with the code
// in V, the list's OID in S, its text in DN and the explanation in OT.

#include <string>
#include <vector>

#include "adapters/kith/apprec_code.h"
#include "adapters/kith/message_header.h"
#include "gateway/core/message.h"
#include "gateway/core/result.h"

namespace helsebro::kith {

enum class AppRecVersion { kV1_0, kV1_1 };

struct AppRecError {
  AppRecCode code = AppRecCode::kX99;
  std::string text;  // OT: Norwegian, names the element concerned
};

struct AppRecRequest {
  AppRecVersion version = AppRecVersion::kV1_1;
  AppRecStatus status = AppRecStatus::kOk;
  std::vector<AppRecError> errors;  // none for status 1; at least one for 2 and 3
  std::string id;                   // the receipt's own Id (a UUID)
  EpochMillis now = 0;              // its GenDate
  Party sender;                     // who answers: the message's receiver
  Party receiver;                   // who is answered: the message's sender
  Coded original_type;              // MsgType of the message answered
  std::string original_issue_date;  // its GenDate (xs:dateTime, or a date; see write_apprec)
  std::string original_id;          // its MsgId
  std::string software_name = "Helsebro";
  std::string software_version;
};

/// The request answering a message with these header facts: swaps sender and receiver (the
/// receipt's sender is header.receivers[receiver_index]), copies MsgType, GenDate and MsgId.
AppRecRequest answer_to(const MessageHeader& header, std::size_t receiver_index = 0);

/// The receipt as UTF-8 XML. Fails when the status and errors contradict each other. An
/// OriginalMsgId/IssueDate that is a date gets midnight; one that is not a date at all (a
/// schema-invalid message) is replaced by the receipt's own GenDate, so the receipt stays valid.
Result<std::string> write_apprec(const AppRecRequest& request);

/// `now` as an xs:dateTime in UTC, e.g. "2024-01-15T10:30:00Z".
std::string format_date_time(EpochMillis now);

}  // namespace helsebro::kith
