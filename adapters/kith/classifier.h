#pragma once
// Deciding what received bytes are: a valid e-message addressed to us, with its header facts, or
// the AppRec error that answers it. Checks run in the order the AppRec standard gives, and the
// first failure decides: well-formed XML (T01; a DOCTYPE or an oversized input: T99) → a known
// namespace for the document and each MsgHead payload (T10) → the schema (T02) → MsgId a UUID
// (E10) → a receiver with one of our HER-ids (E21) → the patient's identity number present (E30)
// and right (E31). An AppRec (the receipt for a message Helsebro sent) gets only the format
// checks, T01 to T02, and is never answered.

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "adapters/kith/apprec_code.h"
#include "adapters/kith/e_message.h"
#include "adapters/kith/schema_set.h"
#include "adapters/kith/xml_reader.h"

namespace helsebro::kith {

struct ClassifierOptions {
  ReadLimits limits;
  /// The HER-ids this endpoint receives for. nullopt: any receiver (no E21 check).
  std::optional<std::set<std::string>> receiver_her_ids;
  /// Who answers a message that names none of those as its receiver: the first HER-id
  /// configured (kith.receiverHerIds). Empty: the message's first receiver.
  std::string answering_her_id;
  /// Refuse a message marked as one for testing (Message/Status TEST, code list 8323), as a
  /// production channel refuses HL7 v2's MSH-11 T (kith.acceptTestMessages false).
  bool refuse_test_messages = false;
};

struct Rejection {
  AppRecCode code = AppRecCode::kX99;
  /// The AppRec's Error/@OT: Norwegian, names the element; never a value from the message.
  std::string text;
  /// libxml2's English explanation when there is one, kept with the message: it may quote
  /// markup and values, so it never goes to logs.
  std::string detail;
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  /// True when the sender can be read from the message and the message is not itself an AppRec:
  /// answer with an AppRec (status 2). Otherwise the caller answers with HTTP problem JSON.
  bool answerable = false;
};

struct Classification {
  std::optional<Rejection> rejection;
  /// Header and document, whenever the bytes were well-formed XML without a DOCTYPE (so also
  /// for most rejections: the AppRec is addressed from it).
  std::shared_ptr<const EMessage> message;
  /// Which of message->header().receivers carries one of our HER-ids (0 when not checked).
  std::size_t receiver_index = 0;
  /// Who the AppRec comes from when the message names none of our HER-ids as its receiver
  /// (E21, or a fault found before the receiver was checked): this endpoint, not the receiver the
  /// message names. Unset otherwise: the receipt comes from receivers[receiver_index].
  std::optional<Party> answering;

  bool accepted() const { return !rejection.has_value() && message != nullptr; }
};

/// Immutable; classify() may run on many threads at once.
class Classifier {
 public:
  /// `schemas` must not be null.
  Classifier(std::shared_ptr<const SchemaSet> schemas, ClassifierOptions options);
  Classification classify(std::string_view bytes) const;

 private:
  std::shared_ptr<const EMessage> read_message(std::string_view bytes,
                                               const XmlDocument& parsed) const;
  std::optional<Rejection> check(const XmlDocument& parsed, const MessageHeader& header,
                                 std::size_t& receiver_index) const;
  // The first receiver with one of our HER-ids; the first receiver when none has.
  std::optional<std::size_t> our_receiver(const MessageHeader& h) const;
  std::optional<Rejection> check_namespaces(const MessageHeader& header) const;
  std::optional<Rejection> check_receiver(const MessageHeader& header, std::size_t& index) const;
  std::optional<Rejection> check_patient(const MessageHeader& header) const;

  std::shared_ptr<const SchemaSet> schemas_;
  ClassifierOptions options_;
  PrefixMap prefixes_;
};

}  // namespace helsebro::kith
