#include "adapters/hl7v2/ack.h"

#include <gtest/gtest.h>

#include "adapters/hl7v2/parser.h"

namespace helsebro::hl7v2 {
namespace {

std::string adt(const std::string& version = "2.5", const std::string& charset = "UNICODE UTF-8") {
  std::string s = "MSH|^~\\&|LAB|AHUS|RECV|NHN|20240115103000||ADT^A04^ADT_A01|CTRL123|P|" + version;
  if (!charset.empty()) s += "||||||" + charset;
  return s + "\rPID|1||123\r";
}

Message parsed(const std::string& bytes) {
  auto m = parse(bytes);
  EXPECT_TRUE(m) << m.error().message();
  return m ? std::move(*m) : Message{};
}

AckRequest request_for(const Message* m, AckCode code) {
  AckRequest r;
  r.message = m;
  r.code = code;
  r.control_id = "ACK-1";
  r.now = 0;
  return r;
}

// The ACK for bytes that did not parse, refused with `error`.
std::string ack_for_raw(const std::string& raw, AckCode code, Error error) {
  AckRequest r = request_for(nullptr, code);
  r.raw_input = raw;
  r.error = std::move(error);
  return build_ack(r);
}

Error required_pid3() {
  return Error{Errc::kRequiredFieldMissing, "patient identifier", Location{"PID", 1, 3}};
}

TEST(Ack, AcceptSwapsSenderAndReceiverAndEchoesTheControlId) {
  const Message m = parsed(adt());
  const std::string ack = build_ack(request_for(&m, AckCode::kAA));
  EXPECT_EQ(ack,
            "MSH|^~\\&|RECV|NHN|LAB|AHUS|19700101000000+0000||ACK^A04^ACK|ACK-1|P|2.5||||||UNICODE UTF-8\r"
            "MSA|AA|CTRL123\r");
}

TEST(Ack, FieldsReadBackThroughTheParser) {
  const Message m = parsed(adt());
  AckRequest r = request_for(&m, AckCode::kAA);
  r.now = 1705314600123;  // 2024-01-15T10:30:00.123Z
  const Message a = parsed(build_ack(r));
  EXPECT_EQ(a.value("MSH", 3), "RECV");
  EXPECT_EQ(a.value("MSH", 4), "NHN");
  EXPECT_EQ(a.value("MSH", 5), "LAB");
  EXPECT_EQ(a.value("MSH", 6), "AHUS");
  EXPECT_EQ(a.value("MSH", 7), "20240115103000+0000");
  EXPECT_EQ(a.value("MSH", 9, 1), "ACK");
  EXPECT_EQ(a.value("MSH", 9, 2), "A04");
  EXPECT_EQ(a.value("MSH", 9, 3), "ACK");
  EXPECT_EQ(a.value("MSH", 10), "ACK-1");
  EXPECT_EQ(a.value("MSH", 11), "P");
  EXPECT_EQ(a.value("MSH", 12), "2.5");
  EXPECT_EQ(a.value("MSH", 18), "UNICODE UTF-8");
  EXPECT_EQ(a.value("MSA", 1), "AA");
  EXPECT_EQ(a.value("MSA", 2), "CTRL123");
  EXPECT_EQ(a.find_segment("ERR"), Message::npos);
}

TEST(Ack, OwnNameWhenTheMessageNamesNoReceiver) {
  const Message m = parsed("MSH|^~\\&|LAB|AHUS|||2024||ORU^R01|C7|T|2.5.1^NOR\rPID|1\r");
  AckRequest r = request_for(&m, AckCode::kCA);
  r.application = "GW";
  r.facility = "GWFAC";
  const Message a = parsed(build_ack(r));
  EXPECT_EQ(a.value("MSH", 3), "GW");
  EXPECT_EQ(a.value("MSH", 4), "GWFAC");
  EXPECT_EQ(a.value("MSH", 5), "LAB");
  EXPECT_EQ(a.value("MSH", 6), "AHUS");
  EXPECT_EQ(a.value("MSH", 11), "T");
  EXPECT_EQ(a.value("MSH", 12), "2.5.1");
  EXPECT_EQ(a.value("MSH", 18), "");  // not declared, not echoed
  EXPECT_EQ(a.value("MSA", 1), "CA");
  EXPECT_EQ(a.value("MSA", 2), "C7");
}

TEST(Ack, ErrorInVersion25Form) {
  const Message m = parsed(adt("2.5"));
  AckRequest r = request_for(&m, AckCode::kAE);
  r.error = required_pid3();
  const std::string ack = build_ack(r);
  EXPECT_NE(ack.find("\rMSA|AE|CTRL123|required field missing (PID-3): patient identifier\r"),
            std::string::npos)
      << ack;
  EXPECT_NE(ack.find("\rERR||PID^1^3|101^Required field missing^HL70357|E||||"
                     "required field missing (PID-3): patient identifier\r"),
            std::string::npos)
      << ack;

  const Message a = parsed(ack);
  const std::size_t err = a.find_segment("ERR");
  ASSERT_NE(err, Message::npos);
  EXPECT_EQ(a.component(err, 2, 1, 1), "PID");
  EXPECT_EQ(a.component(err, 2, 1, 2), "1");
  EXPECT_EQ(a.component(err, 2, 1, 3), "3");
  EXPECT_EQ(a.field(err, 3), "101^Required field missing^HL70357");
  EXPECT_EQ(a.field(err, 4), "E");
  EXPECT_EQ(a.field(err, 8), "required field missing (PID-3): patient identifier");
}

TEST(Ack, ErrorInPre25FormForVersion23) {
  for (const std::string version : {"2.3", "2.3.1", "2.4", "2.2"}) {
    const Message m = parsed(adt(version, ""));
    AckRequest r = request_for(&m, AckCode::kAE);
    r.error = required_pid3();
    const Message a = parsed(build_ack(r));
    EXPECT_EQ(a.value("MSH", 12), version);
    const std::size_t err = a.find_segment("ERR");
    ASSERT_NE(err, Message::npos) << version;
    EXPECT_EQ(a.field(err, 1), "PID^1^3^101&Required field missing&HL70357") << version;
    EXPECT_EQ(a.field_count(err), 1u) << version;
  }
}

TEST(Ack, LaterVersionsUseThe25Form) {
  for (const std::string version : {"2.5.1", "2.6", "2.7", "2.8"}) {
    const Message m = parsed(adt(version));
    AckRequest r = request_for(&m, AckCode::kAE);
    r.error = required_pid3();
    const Message a = parsed(build_ack(r));
    const std::size_t err = a.find_segment("ERR");
    ASSERT_NE(err, Message::npos);
    EXPECT_EQ(a.field(err, 1), "") << version;
    EXPECT_EQ(a.component(err, 3, 1, 1), "101") << version;
  }
}

TEST(Ack, ErrorWithoutLocationLeavesTheLocationEmpty) {
  const Message m = parsed(adt());
  AckRequest r = request_for(&m, AckCode::kAR);
  r.error = Error{Errc::kUnsupportedMessageType, "ADT^A04 is not mapped"};
  const Message a = parsed(build_ack(r));
  const std::size_t err = a.find_segment("ERR");
  ASSERT_NE(err, Message::npos);
  EXPECT_EQ(a.component(err, 2, 1, 1), "");
  EXPECT_EQ(a.component(err, 2, 1, 2), "");
  EXPECT_EQ(a.component(err, 3, 1, 1), "200");
  EXPECT_EQ(a.value("MSA", 1), "AR");
}

// MSH-9's third component, the message structure, came with 2.3.1: an ACK in 2.3 or earlier has
// two components.
TEST(Ack, NamesTheMessageStructureFromVersion231On) {
  for (const auto& [version, parts] : {std::pair{"2.2", 2}, std::pair{"2.3", 2}, std::pair{"2.3.1", 3},
                                       std::pair{"2.5", 3}, std::pair{"2.8", 3}}) {
    const Message m = parsed(adt(version));
    const Message a = parsed(build_ack(request_for(&m, AckCode::kAA)));
    EXPECT_EQ(a.value("MSH", 9, 2), "A04") << version;
    EXPECT_EQ(a.value("MSH", 9, 3), parts == 3 ? "ACK" : "") << version;
  }
}

TEST(Ack, EchoesTheDeclaredCharset) {
  const Message m = parsed(adt("2.5", "8859/1"));
  const Message a = parsed(build_ack(request_for(&m, AckCode::kAA)));
  EXPECT_EQ(a.value("MSH", 18), "8859/1");
}

TEST(Ack, KeepsTheMessagesDelimiters) {
  const Message m = parsed("MSH!@#$%!LAB!AHUS!RECV!NHN!2024!!ADT@A08!C1!P!2.5\rPID!1\r");
  AckRequest r = request_for(&m, AckCode::kAE);
  r.error = Error{Errc::kInvalidValue, "bad! value @ here"};
  const std::string ack = build_ack(r);
  EXPECT_EQ(ack.rfind("MSH!@#$%!RECV!NHN!LAB!AHUS!", 0), 0u) << ack;
  EXPECT_NE(ack.find("\rMSA!AE!C1!"), std::string::npos) << ack;
  EXPECT_NE(ack.find("bad$F$ value $S$ here"), std::string::npos) << ack;
  auto summary = read_ack(ack);
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->code, "AE");
  EXPECT_EQ(summary->control_id, "C1");
  EXPECT_EQ(summary->text, "invalid value: bad! value @ here");
}

TEST(Ack, EscapesErrorTextAndEchoesEscapedControlIds) {
  const Message m = parsed("MSH|^~\\&|LAB|AHUS|RECV|NHN|2024||ADT^A04|C\\F\\1|P|2.5\rPID|1\r");
  AckRequest r = request_for(&m, AckCode::kAE);
  r.error = Error{Errc::kInvalidValue, "a|b^c&d~e\\f"};
  r.control_id = "id|1";
  const std::string ack = build_ack(r);
  EXPECT_NE(ack.find("|id\\F\\1|"), std::string::npos) << ack;
  const Message a = parsed(ack);
  EXPECT_EQ(a.value("MSH", 10), "id|1");
  auto summary = read_ack(ack);
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->control_id, "C|1");
  EXPECT_EQ(summary->text, "invalid value: a|b^c&d~e\\f");
}

TEST(Ack, SalvagesTheHeaderFromRawBytesWhenTheMessageDidNotParse) {
  const std::string raw =
      "MSH|^~\\&|LAB|AHUS|RECV|NHN|2024||ADT^A04^ADT_A01|CTRL9|P|2.3||||||8859/1\rpid|bad\r";
  ASSERT_FALSE(parse(raw));
  const Message a = parsed(ack_for_raw(
      raw, AckCode::kAR, Error{Errc::kBadSegmentId, "segment 2 starts with 'pid|bad'"}));
  EXPECT_EQ(a.value("MSA", 1), "AR");
  EXPECT_EQ(a.value("MSA", 2), "CTRL9");
  EXPECT_EQ(a.value("MSH", 3), "RECV");
  EXPECT_EQ(a.value("MSH", 5), "LAB");
  EXPECT_EQ(a.value("MSH", 6), "AHUS");
  EXPECT_EQ(a.value("MSH", 9, 2), "A04");
  EXPECT_EQ(a.value("MSH", 12), "2.3");
  EXPECT_EQ(a.value("MSH", 18), "8859/1");
  const std::size_t err = a.find_segment("ERR");
  ASSERT_NE(err, Message::npos);
  EXPECT_EQ(a.component(err, 1, 1, 4), "100&Segment sequence error&HL70357");
}

TEST(Ack, SalvagesWithCustomDelimitersAndLfLineEnds) {
  const std::string raw = "\xEF\xBB\xBFMSH!@#$%!LAB!AHUS!!!2024!!ADT@A04!C-5!P!2.5\n\xFF\xFE";
  const std::string ack =
      ack_for_raw(raw, AckCode::kAE, Error{Errc::kInvalidCharacterData, "invalid UTF-8"});
  EXPECT_EQ(ack.rfind("MSH!@#$%!HELSEBRO!HELSEBRO!LAB!AHUS!", 0), 0u) << ack;
  auto summary = read_ack(ack);
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->control_id, "C-5");
}

TEST(Ack, AnswersUnreadableInputWithDefaults) {
  for (const std::string raw : {"", "garbage", "MSH|", "MSH|^|A|B\r", "PID|1||2\r"}) {
    const std::string ack = ack_for_raw(raw, AckCode::kAR, Error{Errc::kNotHl7, "not HL7"});
    const Message a = parsed(ack);
    EXPECT_EQ(a.value("MSH", 3), "HELSEBRO") << raw;
    EXPECT_EQ(a.value("MSH", 9), "ACK") << raw;
    EXPECT_EQ(a.value("MSH", 12), "2.5") << raw;
    EXPECT_EQ(a.value("MSA", 1), "AR") << raw;
    EXPECT_EQ(a.value("MSA", 2), "") << raw;
  }
}

// MSH-2 short of its four characters: the answer still names the message refused (MSA-2), in
// the default delimiters, escaped in them.
TEST(Ack, NamesTheControlIdWhenMsh2IsShort) {
  const std::string raw = "MSH|^~\\|LAB|AHUS|RECV|NHN|2024||ADT^A04|ENC&3|P|2.3\rPID|1\r";
  const std::string ack = ack_for_raw(
      raw, AckCode::kAR, Error{Errc::kNotHl7, "MSH-2 must hold four encoding characters"});
  const Message a = parsed(ack);
  EXPECT_EQ(a.value("MSA", 2), "ENC&3") << ack;
  // Escaped in the answer's delimiters.
  EXPECT_NE(ack.find("|ENC\\T\\3"), std::string::npos) << ack;
  EXPECT_EQ(a.value("MSH", 12), "2.3") << ack;
}

// A batch that is refused whole: the MSH after FHS and BHS is still found.
TEST(Ack, SalvagesTheFirstMessageHeaderAfterBatchHeaders) {
  const std::string raw =
      "FHS|^~\\&|LAB|AHUS|||2024||||F1\rBHS|^~\\&|LAB|AHUS|||2024||||B1\r"
      "MSH|^~\\&|LAB|AHUS|RECV|NHN|2024||ADT^A04|FIRST1|P|2.5\rpid|bad\rBTS|5\rFTS|1\r";
  const Message a = parsed(ack_for_raw(
      raw, AckCode::kAR, Error{Errc::kNotHl7, "BTS-1 counts 5 messages, the batch holds 1"}));
  EXPECT_EQ(a.value("MSA", 2), "FIRST1");
  EXPECT_EQ(a.value("MSH", 5), "LAB");
}

// The caller encodes the ACK in another character set than the message declared (a channel's
// charset or fallback overruled it): MSH-18 names the one the bytes are in.
TEST(Ack, NamesTheCharsetTheAckIsWrittenIn) {
  const Message m = parsed(adt("2.5", "UNICODE UTF-8"));
  AckRequest r = request_for(&m, AckCode::kAA);
  r.charset = "8859/1";
  EXPECT_EQ(parsed(build_ack(r)).value("MSH", 18), "8859/1");
  // Nothing declared and UTF-8 used: nothing said, as before.
  const Message plain = parsed(adt("2.5", ""));
  AckRequest none = request_for(&plain, AckCode::kAA);
  none.charset = "UNICODE UTF-8";
  EXPECT_EQ(parsed(build_ack(none)).value("MSH", 18), "");
  none.charset = "ASCII";  // what the parser calls an undeclared message of ASCII bytes
  EXPECT_EQ(parsed(build_ack(none)).value("MSH", 18), "");
}

TEST(Ack, ReadAckParsesCodeControlIdAndText) {
  const Message m = parsed(adt());
  AckRequest r = request_for(&m, AckCode::kAE);
  r.error = required_pid3();
  auto summary = read_ack(build_ack(r));
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->code, "AE");
  EXPECT_EQ(summary->control_id, "CTRL123");
  EXPECT_EQ(summary->text, "required field missing (PID-3): patient identifier");

  auto plain = read_ack("MSH|^~\\&|A|B|C|D|2024||ACK|1|P|2.5\rMSA|CA|X-9\r");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->code, "CA");
  EXPECT_EQ(plain->control_id, "X-9");
  EXPECT_EQ(plain->text, "");
}

TEST(Ack, ReadAckRefusesWhatIsNotAnAck) {
  EXPECT_FALSE(read_ack(""));
  EXPECT_FALSE(read_ack("garbage"));
  EXPECT_FALSE(read_ack(adt()));  // no MSA
}

// MSH-10 holds 20 characters up to version 2.6; the gateway's ids are 36-character UUIDs.
TEST(Ack, ControlIdFitsMsh10OfTheVersionAnswered) {
  const std::string id = "0192f3a4-5b6c-7d8e-9f01-23456789abcd";
  auto control_id_for = [&](const std::string& version) {
    const Message m = parsed(adt(version));
    AckRequest r = request_for(&m, AckCode::kAA);
    r.control_id = id;
    return parsed(build_ack(r)).value("MSH", 10);
  };
  for (const std::string version : {"2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "3.0"}) {
    // The id's time (its first 12 hex digits) and its last 8 random ones.
    EXPECT_EQ(control_id_for(version), "0192f3a45b6c6789abcd") << version;
  }
  for (const std::string version : {"2.7", "2.7.1", "2.8", "2.9", "2.10"}) {
    EXPECT_EQ(control_id_for(version), id) << version;
  }
  const Message m = parsed(adt("2.5"));
  AckRequest r = request_for(&m, AckCode::kAA);
  r.control_id = "not-a-uuid-but-longer-than-twenty";
  EXPECT_EQ(parsed(build_ack(r)).value("MSH", 10), "not-a-uuid-but-longe");
  r.control_id = "exactly-twenty-chars";
  EXPECT_EQ(parsed(build_ack(r)).value("MSH", 10), "exactly-twenty-chars");
}

TEST(Ack, CodeNames) {
  EXPECT_EQ(to_string(AckCode::kAA), "AA");
  EXPECT_EQ(to_string(AckCode::kAE), "AE");
  EXPECT_EQ(to_string(AckCode::kAR), "AR");
  EXPECT_EQ(to_string(AckCode::kCA), "CA");
  EXPECT_EQ(to_string(AckCode::kCE), "CE");
  EXPECT_EQ(to_string(AckCode::kCR), "CR");
}

}  // namespace
}  // namespace helsebro::hl7v2
