#include "adapters/kith/source_view.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <pugixml.hpp>
#include <thread>

#include "adapters/kith/classifier.h"
#include "adapters/kith/xpath.h"
#include "tests/unit/adapters/kith/test_support.h"

namespace helsebro::kith {
namespace {

using mapping::SourceNode;
using Texts = std::vector<std::string>;

class KithSourceView : public ::testing::Test {
 protected:
  void SetUp() override { load(testing::dialog_message()); }

  void load(std::string_view text) {
    const Classification c = Classifier(testing::schemas(), {}).classify(text);
    ASSERT_NE(c.message, nullptr);
    message_ = c.message;
    view_.emplace(message_->document());
  }

  std::vector<SourceNode> select(std::string_view path, const SourceNode* context = nullptr) {
    auto compiled = dialect_.compile(path);
    EXPECT_TRUE(compiled) << path << ": " << (compiled ? "" : compiled.error().message());
    std::vector<SourceNode> out;
    if (compiled) view_->select(context ? *context : view_->root(), **compiled, out);
    return out;
  }
  Texts texts(std::string_view path, const SourceNode* context = nullptr) {
    Texts out;
    for (const SourceNode& n : select(path, context)) out.push_back(view_->text(n));
    return out;
  }

  XPathDialect dialect_{testing::schemas()->index()};
  std::shared_ptr<const EMessage> message_;
  std::optional<SourceView> view_;
};

TEST_F(KithSourceView, SelectsAbsolutePathsWithTheFixedPrefixes) {
  EXPECT_EQ(texts("/mh:MsgHead/mh:MsgInfo/mh:MsgId"), Texts{std::string(testing::kMsgId)});
  EXPECT_EQ(texts("//mh:Receiver//mh:Ident[mh:TypeId/@V='HER']/mh:Id"),
            (Texts{"111222", "333444"}));
  EXPECT_EQ(texts("//dm:Notat/dm:TekstNotatInnhold"), (Texts{"Første notat", "Andre notat"}));
}

// TekstNotatInnhold is anyType "to allow XHTML": its paragraphs are lines, not words run together
// ("…henvist</p><p>Linje 2" read "henvistLinje 2").
TEST_F(KithSourceView, XhtmlParagraphsAndBreaksAreLines) {
  const std::string first = "<TekstNotatInnhold>Første notat</TekstNotatInnhold>";
  std::string message = testing::dialog_message();
  const auto at = message.find(first);
  ASSERT_NE(at, std::string::npos);
  message.replace(at, first.size(),
                  "<TekstNotatInnhold><div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Pasienten er henvist</p>"
                  "<p>Linje 2<br/>Linje 3</p><ul><li>a</li><li>b</li></ul></div></TekstNotatInnhold>");
  load(message);
  EXPECT_EQ(texts("//dm:Notat/dm:TekstNotatInnhold").front(), "Pasienten er henvist\nLinje 2\nLinje 3\na\nb");
}

TEST_F(KithSourceView, SelectsAttributesAsText) {
  EXPECT_EQ(texts("/mh:MsgHead/mh:MsgInfo/mh:Type/@V"), Texts{"DIALOG_NOTAT"});
  EXPECT_EQ(texts("//mh:Patient/mh:Ident/mh:TypeId/@S"), Texts{"2.16.578.1.12.4.1.1.8116"});
  EXPECT_EQ(texts("//dm:TemaKodet/@DN"), (Texts{"Helsefaglig dialog", "Annet"}));
}

TEST_F(KithSourceView, SelectsRelativeToAnOccurrence) {
  const auto notes = select("//dm:Notat");
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(texts("dm:TekstNotatInnhold", &notes[1]), Texts{"Andre notat"});
  EXPECT_EQ(texts("dm:TemaKodet/@V", &notes[0]), Texts{"1"});
  EXPECT_EQ(texts("../../../mh:MsgType/@V", &notes[0]), Texts{"XML"});
  // From an attribute, a relative path starts at its element.
  const auto code = select("dm:TemaKodet/@V", &notes[1]);
  ASSERT_EQ(code.size(), 1u);
  EXPECT_EQ(texts("@DN", &code[0]), Texts{"Annet"});
}

TEST_F(KithSourceView, AbsentPathsSelectNothing) {
  EXPECT_TRUE(select("//dm:Foresporsel").empty());
  EXPECT_TRUE(select("/mh:MsgHead/mh:MsgInfo/mh:Ack/@V").empty());
}

TEST_F(KithSourceView, ElementTextIsItsStringValue) {
  EXPECT_EQ(texts("//mh:Patient/mh:Ident"), Texts{"15038512363"});
  const auto root = view_->root();
  EXPECT_EQ(view_->locate(root).segment, "");
}

TEST_F(KithSourceView, MatchesWhateverPrefixTheSenderUsed) {
  load(
      R"(<h:MsgHead xmlns:h="http://www.kith.no/xmlstds/msghead/2006-05-24"><h:MsgInfo><h:MsgId>a</h:MsgId>
      </h:MsgInfo><h:Document><h:RefDoc><h:Content><Dialogmelding xmlns="http://www.kith.no/xmlstds/dialog/2006-10-11">
      <Notat><TekstNotatInnhold>gammel</TekstNotatInnhold></Notat></Dialogmelding></h:Content></h:RefDoc></h:Document>
      </h:MsgHead>)");
  EXPECT_EQ(texts("/mh:MsgHead/mh:MsgInfo/mh:MsgId"), Texts{"a"});
  EXPECT_EQ(texts("//dm:Notat/dm:TekstNotatInnhold"), Texts{"gammel"});
  EXPECT_EQ(texts("//*[local-name()='Notat' and "
                  "namespace-uri()='http://www.kith.no/xmlstds/dialog/2006-10-11']"),
            Texts{"gammel"});
}

TEST_F(KithSourceView, DecodesEveryDeclaredCharsetToUtf8) {
  for (const char* charset : {"ISO-8859-1", "windows-1252", "UTF-8"}) {
    SCOPED_TRACE(charset);
    const bool utf8 = std::string_view(charset) == "UTF-8";
    const std::string declaration = std::string("encoding=\"").append(charset).append("\"");
    load(testing::dialog_message({{"encoding=\"UTF-8\"", declaration},
                                  {"Første notat", utf8 ? "Første notat" : "F\xF8rste notat \x80"},
                                  {"Fødselsnummer", utf8 ? "Fødselsnummer"
                                                         : "F\xF8"
                                                           "dselsnummer"}}));
    EXPECT_EQ(message_->charset(), charset);
    // 0x80 is the euro sign in windows-1252 and a C1 control character in ISO-8859-1.
    const std::string expected = utf8 ? "Første notat"
                                 : std::string_view(charset) == "windows-1252"
                                     ? "Første notat \u20AC"
                                     : "Første notat \u0080";
    EXPECT_EQ(texts("//dm:Notat[1]/dm:TekstNotatInnhold"), Texts{expected});
  }
}

TEST_F(KithSourceView, LocatesNodesByPath) {
  const auto notes = select("//dm:Notat");
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(view_->locate(notes[1]).segment,
            "/mh:MsgHead/mh:Document/mh:RefDoc/mh:Content/dm:Dialogmelding/dm:Notat[2]");
  const auto her = select("//mh:Receiver/mh:Organisation/mh:Ident[1]/mh:TypeId/@V");
  ASSERT_EQ(her.size(), 1u);
  EXPECT_EQ(view_->locate(her[0]).segment,
            "/mh:MsgHead/mh:MsgInfo/mh:Receiver/mh:Organisation/mh:Ident[1]/mh:TypeId/@V");
}

TEST_F(KithSourceView, UnreadListsTheDataNoTextCallTook) {
  const Texts before = view_->unread();
  auto has = [](const Texts& list, std::string_view path) {
    return std::find(list.begin(), list.end(), path) != list.end();
  };
  const std::string msg_id = "/mh:MsgHead/mh:MsgInfo/mh:MsgId/text()";
  const std::string type = "/mh:MsgHead/mh:MsgInfo/mh:Type";
  ASSERT_TRUE(has(before, msg_id));
  ASSERT_TRUE(has(before, type + "/@V"));
  for (const auto& path : before) {  // declarations are not data
    EXPECT_EQ(path.find("@xmlns"), std::string::npos) << path;
    EXPECT_EQ(path.find("@xsi:"), std::string::npos) << path;
  }
  texts("/mh:MsgHead/mh:MsgInfo/mh:MsgId");
  texts("/mh:MsgHead/mh:MsgInfo/mh:Type/@V");
  texts("//dm:Notat[1]");  // an element's string value reads every text below it, not attributes
  const Texts after = view_->unread();
  EXPECT_EQ(view_->unread_count(), after.size());
  EXPECT_LT(after.size(), before.size());
  EXPECT_FALSE(has(after, msg_id));
  EXPECT_FALSE(has(after, type + "/@V"));
  EXPECT_FALSE(has(after, type + "/@DN")) << "a code's display goes with its code";
  const std::string notes = "/mh:MsgHead/mh:Document/mh:RefDoc/mh:Content/dm:Dialogmelding/dm:Notat";
  EXPECT_FALSE(has(after, notes + "[1]/dm:TekstNotatInnhold/text()"));
  EXPECT_TRUE(has(after, notes + "[1]/dm:TemaKodet/@V"));
  EXPECT_TRUE(has(after, notes + "[2]/dm:TekstNotatInnhold/text()"));
  EXPECT_LT(after.size(), before.size());
}

TEST_F(KithSourceView, ContainsWhatLiesWithin) {
  const auto notes = select("//dm:Notat");
  const auto texts_in_notes = select("//dm:TekstNotatInnhold");
  const auto codes = select("//dm:TemaKodet/@V");
  ASSERT_EQ(notes.size(), 2u);
  ASSERT_EQ(codes.size(), 2u);
  EXPECT_TRUE(view_->contains(notes[0], texts_in_notes[0]));
  EXPECT_FALSE(view_->contains(notes[0], texts_in_notes[1]));
  EXPECT_TRUE(view_->contains(notes[1], codes[1]));
  EXPECT_TRUE(view_->contains(notes[1], notes[1]));
  EXPECT_TRUE(view_->contains(view_->root(), codes[0]));
  EXPECT_FALSE(view_->contains(codes[0], notes[0]));
}

TEST_F(KithSourceView, TheSameNodeKeepsItsIndex) {
  const auto first = select("//dm:Notat[2]");
  const auto again = select("//dm:Notat");
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].a, again[1].a);
  EXPECT_EQ(first[0].kind, kElementNode);
  EXPECT_EQ(select("//dm:TemaKodet/@V")[0].kind, kAttributeNode);
}

TEST_F(KithSourceView, NullFlavoursAndNilAreNull) {
  load(testing::dialog_message(
      {{"<TekstNotatInnhold>Første notat</TekstNotatInnhold>",
        R"(<TekstNotatInnhold xmlns:i="http://www.w3.org/2001/XMLSchema-instance" i:nil="true"/>)"},
       {"<TekstNotatInnhold>Andre notat</TekstNotatInnhold>",
        R"(<TekstNotatInnhold NULL="UNK"/>)"}}));
  const auto texts_in_notes = select("//dm:TekstNotatInnhold");
  ASSERT_EQ(texts_in_notes.size(), 2u);
  EXPECT_TRUE(view_->is_null(texts_in_notes[0]));
  EXPECT_TRUE(view_->is_null(texts_in_notes[1]));
  EXPECT_FALSE(view_->is_null(select("//dm:TemaKodet")[0]));
  EXPECT_FALSE(view_->is_null(select("//dm:TemaKodet/@V")[0]));
}

TEST_F(KithSourceView, ListsOccurrencesInDocumentOrder) {
  const auto notes = select("//dm:TekstNotatInnhold");
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(texts("ancestor::*[mh:RefDoc or dm:Notat]/*[1]", &notes[1]).size(), 2u);
  EXPECT_EQ(
      texts("preceding::dm:TekstNotatInnhold | following::dm:TekstNotatInnhold | .", &notes[1]),
      (Texts{"Første notat", "Andre notat"}));
}

TEST_F(KithSourceView, OnePathServesManyViewsOnManyThreads) {
  auto path = dialect_.compile("//dm:Notat/dm:TemaKodet/@DN");
  ASSERT_TRUE(path);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        SourceView view(message_->document());
        std::vector<SourceNode> out;
        view.select(view.root(), **path, out);
        if (out.size() != 2 || view.text(out[1]) != "Annet") ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

// Plain paths are walked without pugixml's XPath engine: each must select exactly what the engine
// selects, in the same order, from the document and from every element of the message.
TEST_F(KithSourceView, PlainPathsSelectWhatTheXPathEngineSelects) {
  const std::vector<std::string> paths = {
      "/", "/mh:MsgHead", "/mh:MsgHead/mh:MsgInfo/mh:MsgId", "/mh:MsgHead/mh:MsgInfo/mh:Type/@V",
      "/mh:MsgHead/mh:MsgInfo/mh:Receiver/mh:Organisation/mh:Ident/mh:Id",
      "/mh:MsgHead/mh:Document/mh:RefDoc/mh:Content/dm:Dialogmelding/dm:Notat/dm:TemaKodet/@DN",
      "/mh:MsgHead/mh:Nothing", "/mh:MsgHead/mh:MsgInfo/@V", "/..", ".", "..", "../..", "./mh:Id",
      "mh:Ident/mh:Id", "mh:TypeId/@V", "mh:TypeId/@S", "@V", "@DN", "@xsi:nil",
      "../mh:Ident/mh:Id", "../../mh:OrganisationName", "./../mh:Ident/./mh:TypeId/@V",
      "dm:Notat/dm:TekstNotatInnhold", "mh:Organisation/mh:Organisation/mh:Ident/mh:Id"};
  // The document, every element and every text node.
  pugi::xpath_node_set nodes = message_->document().select_nodes("//* | //text()");
  std::vector<pugi::xml_node> contexts{message_->document()};
  for (const pugi::xpath_node& n : nodes) contexts.push_back(n.node());
  for (const std::string& text : paths) {
    auto compiled = dialect_.compile_xpath(text);
    ASSERT_TRUE(compiled) << text;
    EXPECT_TRUE((*compiled)->plain()) << text;
    const pugi::xpath_query engine(text.c_str());
    for (const pugi::xml_node& context : contexts) {
      std::vector<pugi::xpath_node> walked;
      (*compiled)->select(context, walked);
      pugi::xpath_node_set expected = engine.evaluate_node_set(context);
      expected.sort();
      ASSERT_EQ(walked.size(), expected.size()) << text << " from " << context.name();
      for (std::size_t i = 0; i < walked.size(); ++i) {
        EXPECT_TRUE(walked[i] == expected[i]) << text << " from " << context.name() << ", node " << i;
      }
    }
  }
}

// Canonical names can give two attributes of one element the same name (two versions of a
// namespace under one prefix); pugixml's engine selects the first, and so does the walk.
TEST(KithXPathDialect, PlainPathsSelectTheFirstAttributeOfTheNameAsTheEngineDoes) {
  pugi::xml_document doc;
  pugi::xml_node x = doc.append_child("dm:x");
  x.append_attribute("dm:k") = "1";
  x.append_attribute("V") = "v";
  x.append_attribute("dm:k") = "2";
  XPathDialect dialect(std::set<std::string>{"dm"});
  auto path = dialect.compile_xpath("/dm:x/@dm:k");
  ASSERT_TRUE(path);
  ASSERT_TRUE((*path)->plain());
  std::vector<pugi::xpath_node> walked;
  (*path)->select(doc, walked);
  const pugi::xpath_node_set expected = pugi::xpath_query("/dm:x/@dm:k").evaluate_node_set(doc);
  ASSERT_EQ(expected.size(), 1u);
  ASSERT_EQ(walked.size(), 1u);
  EXPECT_TRUE(walked[0] == expected[0]);
  EXPECT_STREQ(walked[0].attribute().value(), "1");
}

TEST(KithXPathDialect, TellsPlainPathsFromTheRest) {
  for (const char* plain : {"/", "/mh:MsgHead", "mh:Id", "@V", "@xsi:nil", ".", "..", "../../mh:Id",
                            "./mh:TypeId/@V", "/mh:MsgHead/./mh:MsgInfo", "Name", "mh:Åpen"}) {
    EXPECT_TRUE(plain_steps(plain)) << plain;
  }
  for (const char* other : {"", "//dm:Notat", "mh:Ident//mh:Id", "mh:Ident/", "mh:Ident[1]", "*",
                            "mh:Ident/..", "@V/mh:Id", "@*", "@xmlns", "@xmlns:mh", "text()",
                            "child::mh:Id", "mh:Id | mh:Name", "mh:Id/ mh:Name", "a:b:c",
                            "1mh:Id", "$x"}) {
    EXPECT_FALSE(plain_steps(other)) << other;
  }
  EXPECT_FALSE(plain_steps("/mh:MsgHead/../mh:MsgInfo"));  // ".." after a name could repeat nodes
  const auto up = plain_steps("../../mh:Ident/@V");
  ASSERT_TRUE(up);
  ASSERT_EQ(up->size(), 4u);
  EXPECT_EQ((*up)[0].kind, PlainStep::kParent);
  EXPECT_EQ((*up)[2].kind, PlainStep::kChild);
  EXPECT_EQ((*up)[2].name, "mh:Ident");
  EXPECT_EQ((*up)[3].kind, PlainStep::kAttribute);
  EXPECT_EQ((*up)[3].name, "V");
}

TEST(KithXPathDialect, CompilesEachXPathQueryOnce) {
  XPathDialect dialect(testing::schemas()->index());
  auto a = dialect.compile_xpath("//dm:Notat[dm:TemaKodet/@V='1']");
  auto b = dialect.compile_xpath("//dm:Notat[dm:TemaKodet/@V='1']");
  auto c = dialect.compile_xpath("//dm:Notat");
  auto plain = dialect.compile_xpath("/mh:MsgHead/mh:MsgInfo");
  ASSERT_TRUE(a && b && c && plain);
  EXPECT_FALSE((*a)->plain());
  EXPECT_TRUE((*plain)->plain());
  EXPECT_EQ(dialect.compiled_queries(), 2u);
  // A shared query outlives the dialect that compiled it.
  std::unique_ptr<XPath> kept;
  {
    XPathDialect scoped(std::set<std::string>{"dm"});
    kept = std::move(*scoped.compile_xpath("//dm:Notat/dm:TekstNotatInnhold"));
  }
  const Classification message = Classifier(testing::schemas(), {}).classify(testing::dialog_message());
  ASSERT_NE(message.message, nullptr);
  std::vector<pugi::xpath_node> found;
  kept->select(message.message->document(), found);
  EXPECT_EQ(found.size(), 2u);
}

TEST(KithXPathDialect, CompilesOnceAndKeepsTheText) {
  XPathDialect dialect(testing::schemas()->index());
  EXPECT_EQ(dialect.format(), "kith");
  auto path = dialect.compile_xpath("/mh:MsgHead/mh:MsgInfo/mh:Type/@V");
  ASSERT_TRUE(path);
  EXPECT_EQ((*path)->text(), "/mh:MsgHead/mh:MsgInfo/mh:Type/@V");
  EXPECT_EQ((*path)->location().segment, "/mh:MsgHead/mh:MsgInfo/mh:Type/@V");
}

TEST(KithXPathDialect, RefusesUnknownPrefixes) {
  XPathDialect dialect(testing::schemas()->index());
  auto path = dialect.compile("/mh:MsgHead/dx:Notat");
  ASSERT_FALSE(path);
  EXPECT_NE(path.error().detail.find("at character 13: unknown namespace prefix 'dx'"),
            std::string::npos)
      << path.error().detail;
  EXPECT_TRUE(dialect.compile("child::mh:MsgHead[@xsi:nil or 'a:b' = 'c']"));
  EXPECT_TRUE(dialect.compile("//plo:Innleggelsesrapport/po:ParorendeForesatt/fk1:FamilyName"));
}

TEST(KithXPathDialect, RefusesSyntaxErrorsWithTheirPlace) {
  XPathDialect dialect(std::set<std::string>{"mh"});
  auto path = dialect.compile("/mh:MsgHead[");
  ASSERT_FALSE(path);
  EXPECT_NE(path.error().detail.find("XPath '/mh:MsgHead['"), std::string::npos)
      << path.error().detail;
  EXPECT_FALSE(dialect.compile(""));
}

TEST(KithXPathDialect, RefusesPathsThatSelectNoNodes) {
  XPathDialect dialect(std::set<std::string>{"mh"});
  EXPECT_FALSE(dialect.compile("count(//mh:Ident)"));
  EXPECT_FALSE(dialect.compile("string(/mh:MsgHead)"));
}

TEST(KithXPathDialect, OffersEveryDocumentedPrefix) {
  std::set<std::string> prefixes;
  for (const auto& [prefix, ns] : testing::schemas()->index().prefixes()) prefixes.insert(prefix);
  EXPECT_EQ(prefixes,
            (std::set<std::string>{"ar", "b64", "dm", "ds", "ep", "epj1", "epj2", "epj3", "epjm",
                                   "fk1", "hv", "kith", "mh", "plo", "po", "rk", "sv", "xsi"}));
}

}  // namespace
}  // namespace helsebro::kith
