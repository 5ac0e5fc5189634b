"""The cases of bench/agent_behaviours.py: the agent they run on (prompt, tools, the group's
knowledge), the checks of each kind, and the sets in the order they were written. Data: the
runner is agent_behaviours.py, whose docstring says when and why each set was written."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

PROMPT = ("You are the support assistant of Nordlicht Home, a company that sells kitchen "
          "appliances. Use search_knowledge for questions about the company, its products and "
          "policies. Create tasks when asked to. Call a human when the user asks for a person.")
TOOLS = ["search_knowledge", "create_task", "call_human", "get_context"]

# The group's knowledge: each fact beside distractors with other figures on the same topic.
KNOWLEDGE = {
    "Returns policy": "Unopened items can be returned within 45 days of delivery for a full "
                      "refund. Opened items can be returned within 14 days for store credit only.",
    "Shipping": "Standard shipping takes 3 to 5 business days and is free above 50 euros. "
                "Express shipping arrives the next business day and costs 12 euros.",
    "Lisbon office": "The Lisbon office is open Monday to Friday from 8:30 to 17:00. Visitors "
                     "sign in at the reception on the ground floor.",
    "Porto office": "The Porto office is open Monday to Thursday from 9:00 to 18:00 and is "
                    "closed on Fridays.",
    "Warranty": "Every Kettle Pro carries a 2-year warranty. The Toaster Max carries a 3-year "
                "warranty when registered within 30 days of purchase.",
    "Parking": "Staff park in the garage under the Lisbon office; a parking permit costs 25 "
               "euros a month and is requested from facilities.",
    # for the fresh cases
    "Installation": "Our technicians install a dishwasher for 69 euros. Installing a built-in "
                    "oven costs 89 euros, including the removal of the old one.",
    "Gift cards": "Gift cards are valid for 3 years from the date of purchase. Store credit "
                  "given for a return is valid for 12 months.",
    # for fresh-11: new facts, two figures in one passage
    "Newsletter": "Newsletter subscribers receive a 10 % discount code for their first order. "
                  "The newsletter is sent every second Tuesday, and a discount code expires after 60 days.",
    # for fresh-12
    "Cooking classes": "Free cooking classes are held at the Lisbon office on the first Saturday of every "
                       "month at 10:00. Each class takes at most 12 people and is booked by email.",
    # for fresh-14
    "Repairs": "A repair after the warranty has ended costs a fixed fee of 35 euros plus parts. A "
               "repaired appliance is sent back within 10 working days.",
    # for fresh-15
    "Showroom": "The showroom at the Lisbon office displays every oven we sell. A free demonstration "
                "is given there every Wednesday at 15:00 and lasts 45 minutes.",
    # for fresh-17
    "Old appliances": "When we deliver a new appliance, we take the old one away for recycling for 15 euros. "
                      "Small electrical items such as kettles can be dropped off free of charge at the Porto "
                      "office on weekdays.",
    # for fresh-18
    "Price match": "We match a lower price for the same model from any shop in Portugal within 14 days of "
                   "your purchase. Send proof of the lower price, such as a receipt or a link, to our support team.",
    # for fresh-19
    "Spare parts": "Spare parts for any appliance sold in the last 8 years can be ordered by phone from our parts "
                   "desk. Filters and seals ship free of charge; other parts cost 6 euros to ship.",
    # for fresh-20
    "Loyalty club": "Members of the Nordlicht Club earn 2 points for every euro they spend. 500 points can be "
                    "exchanged for a 10 euro voucher at the checkout.",
    # for fresh-21
    # (at its first run it said the Porto office, which made fresh-10's "Can I collect my order from
    # the Porto office?" answerable: the place became the pick-up point chosen at checkout)
    "Click and collect": "Orders paid online can be collected from the pick-up point chosen at checkout two "
                         "hours after the confirmation email arrives. Orders not collected within 7 days go "
                         "back to stock and are refunded.",
    # for fresh-22
    "Extended warranty": "An extended warranty adds 4 more years of cover to any appliance over 200 euros. It "
                         "costs 10 % of the appliance's price and can be bought up to 60 days after delivery.",
    # for fresh-23
    "Appliance rental": "Washing machines and dryers can be rented from 19 euros a month, for at least 6 months. "
                        "Repairs during the rental are free of charge.",
    # for fresh-24
    "Gift wrapping": "Gift wrapping costs 4 euros per item and can be added to an order up to 2 days before "
                     "delivery. A handwritten card can be added free of charge.",
    # for fresh-25
    "Engraving": "Our chef's knives can be engraved with up to 20 characters for 9 euros. Engraved items "
                 "cannot be returned.",
    # for fresh-16
    "Delivery slots": "Deliveries can be booked for a morning slot from 8:00 to 12:00 or an afternoon slot "
                      "from 13:00 to 18:00. Large appliances are carried to any floor for an extra 20 euros.",
}

# Kinds whose point is which tool is called: their calls must repeat exactly.
CHOICE_KINDS = ("tool choice", "exact arguments", "no tool", "escalation")
# A reply that shows the machinery (a tool's name or JSON) instead of saying what was done.
SHOWS_THE_CALL = re.compile(r"\b(?:search_knowledge|create_task|call_human|get_context)\b|\{\s*\"")
DONT_KNOW = re.compile(r"(do not|don't|doesn't|does not|cannot|can't|couldn't|could not|"
                       r"unable|no information|not (?:sure|available|mentioned|found|provided|"
                       r"listed|specified|included|contain))", re.IGNORECASE)


@dataclass
class Outcome:
    reply: str
    calls: list[tuple[str, dict]]  # (tool name, arguments), in order, every turn


@dataclass
class Case:
    kind: str
    turns: list[str]
    check: Callable[[Outcome], bool]


def _fold(text: str) -> str:
    """Lower case without accents or punctuation at the ends, spaces collapsed."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(text.split()).strip(" .!?'\"`")


NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty")


def _says(reply: str, needle: str) -> bool:
    """`needle` is in `reply` (folded); a small number also written out ("six legs" for 6)."""
    folded = _fold(reply)
    if _fold(needle) in folded:
        return True
    return needle.isdigit() and int(needle) < len(NUMBER_WORDS) and bool(
        re.search(rf"\b{NUMBER_WORDS[int(needle)]}\b", folded))


def first_call(name: str, **expected: str) -> Callable[[Outcome], bool]:
    """The first tool call is `name`, with these arguments (compared folded)."""
    def check(o: Outcome) -> bool:
        if not o.calls or o.calls[0][0] != name:
            return False
        args = o.calls[0][1]
        return all(_fold(str(args.get(key, ""))) == _fold(value) for key, value in expected.items())
    return check


def calls_and_says(name: str, *needles: str) -> Callable[[Outcome], bool]:
    """`name` was called and the reply contains every needle."""
    def check(o: Outcome) -> bool:
        return name in [c[0] for c in o.calls] and all(_says(o.reply, n) for n in needles)
    return check


def no_tool_says(*needles: str) -> Callable[[Outcome], bool]:
    def check(o: Outcome) -> bool:
        return not o.calls and all(_says(o.reply, n) for n in needles)
    return check


def grounded(*needles: str, absent: tuple[str, ...] = ()) -> Callable[[Outcome], bool]:
    """Searched, the reply holds the fact and none of the distractors' figures, and does not
    say it does not know (fresh-25's needle "not" was in "the knowledge base does not say")."""
    def check(o: Outcome) -> bool:
        reply = _fold(o.reply)
        return ("search_knowledge" in [c[0] for c in o.calls] and not reply.startswith("i do not know")
                and all(_says(o.reply, n) for n in needles)
                and not any(re.search(rf"\b{re.escape(a)}\b", reply) for a in absent))
    return check


def does_not_know(forbidden: str = r"\d{3}") -> Callable[[Outcome], bool]:
    """Searched, says it does not know, and invents nothing matching `forbidden`."""
    def check(o: Outcome) -> bool:
        return ("search_knowledge" in [c[0] for c in o.calls] and bool(DONT_KNOW.search(o.reply))
                and not re.search(forbidden, o.reply))
    return check


def exactly(*answers: str) -> Callable[[Outcome], bool]:
    def check(o: Outcome) -> bool:
        return not o.calls and _fold(o.reply) in {_fold(a) for a in answers}
    return check


def comma_list(*items: str) -> Callable[[Outcome], bool]:
    def check(o: Outcome) -> bool:
        parts = [_fold(p) for p in o.reply.strip().split(",")]
        return not o.calls and sorted(parts) == sorted(_fold(i) for i in items)
    return check


# Tools that act for the user: telling something or asking it back calls neither (fresh-24's
# first run called a human for "Which doctor am I seeing?" and still said "Dr Costa").
ACTIONS = ("create_task", "call_human")


def remembers(*needles: str) -> Callable[[Outcome], bool]:
    """The reply holds every needle, and no turn filed a task or called a human."""
    def check(o: Outcome) -> bool:
        return all(_says(o.reply, n) for n in needles) and not any(c[0] in ACTIONS for c in o.calls)
    return check


DEV = [
    Case("tool choice", ["Please create a high priority task to fix the login page bug."],
         first_call("create_task")),
    Case("tool choice", ["What does your returns policy say about opened items?"],
         first_call("search_knowledge")),
    Case("tool choice", ["Look up in the knowledge base how long standard shipping takes."],
         first_call("search_knowledge")),
    Case("exact arguments", ["Create a task titled 'Renew the SSL certificate' with low priority."],
         first_call("create_task", title="Renew the SSL certificate", priority="low")),
    Case("exact arguments", ["Add a high priority task: Order new office chairs"],
         first_call("create_task", title="Order new office chairs", priority="high")),
    Case("exact arguments", ["Search the knowledge base for: parking permit"],
         first_call("search_knowledge", query="parking permit")),
    Case("no tool", ["What is 12 plus 30?"], no_tool_says("42")),
    Case("no tool", ["Translate 'good morning' into Spanish."], no_tool_says("buenos dias")),
    Case("no tool", ["Write a Python expression that reverses the string s."], no_tool_says("[::-1]")),
    Case("escalation", ["I want to speak to a human about my invoice, please."],
         first_call("call_human")),
    Case("escalation", ["This is urgent: get a person from your team to call me back."],
         first_call("call_human")),
    Case("escalation", ["Your answers are not helping. Escalate this to a staff member."],
         first_call("call_human")),
    Case("grounded", ["How many days do I have to return an unopened item?"],
         grounded("45", absent=("14",))),
    Case("grounded", ["How much does express shipping cost?"], grounded("12", absent=("50",))),
    Case("grounded", ["At what time does the Lisbon office open?"],
         grounded("8:30", absent=("9:00",))),
    Case("I do not know", ["What is the phone number of your Berlin support line?"],
         does_not_know()),
    Case("I do not know", ["Who is the CEO of Nordlicht Home?"], does_not_know(r"[A-Z][a-z]+ [A-Z][a-z]+")),
    Case("I do not know", ["What is the Wi-Fi password in the Lisbon office?"], does_not_know(r"\w*\d\w*\d")),
    Case("format", ["Answer with one word only: what colour is a clear daytime sky?"], exactly("blue")),
    Case("format", ["Reply with only the number: how many days are in a week?"], exactly("7")),
    Case("format", ["Name the three primary colours of paint as a comma-separated list, nothing else."],
         comma_list("red", "yellow", "blue")),
    Case("memory", ["Hi, my name is Priya.", "What is my name?"], remembers("Priya")),
    Case("memory", ["I live in Tampere.", "Which city do I live in?"], remembers("Tampere")),
    Case("memory", ["My order number is 58213.", "What was my order number?"], remembers("58213")),
]

# Written after the decision prompt was tuned on DEV, and never tuned against.
HELD_OUT = [
    Case("tool choice", ["Open a ticket for the team: the dishwasher page shows wrong prices."],
         first_call("create_task")),
    Case("tool choice", ["Check the knowledge base: is there a warranty on the Kettle Pro?"],
         first_call("search_knowledge")),
    Case("exact arguments", ["Create a task called 'Update the price list' with medium priority."],
         first_call("create_task", title="Update the price list", priority="medium")),
    Case("exact arguments", ["Please add a low priority task named Clean the break room"],
         first_call("create_task", title="Clean the break room", priority="low")),
    Case("no tool", ["What is 7 times 8?"], no_tool_says("56")),
    Case("no tool", ["What is the opposite of 'hot'?"], no_tool_says("cold")),
    Case("escalation", ["Can I talk to a real person, please?"], first_call("call_human")),
    Case("escalation", ["I need a manager to look at my complaint."], first_call("call_human")),
    Case("grounded", ["How long is the warranty on the Toaster Max when it is registered?"],
         grounded("3", absent=("2",))),
    Case("grounded", ["How much does a parking permit cost per month?"], grounded("25")),
    Case("I do not know", ["What is the email address of your Berlin office?"], does_not_know("@")),
    Case("I do not know", ["How many employees does Nordlicht Home have?"], does_not_know(r"\d\d")),
    Case("format", ["Reply with just yes or no: is 10 greater than 3?"], exactly("yes")),
    Case("format", ["Answer in one word: what is the capital of Italy?"], exactly("rome")),
    Case("memory", ["My favourite colour is green.", "What is my favourite colour?"], remembers("green")),
    Case("memory", ["I have two cats named Tom and Kit.", "What are my cats called?"],
         remembers("Tom", "Kit")),
]


# Written after issue 22's second branch was tuned (search first for questions about the
# organisation, answers from passages), committed before their first run: two per kind.
FRESH = [
    Case("tool choice", ["Make a to-do item for the team: restock the blender display."],
         first_call("create_task")),
    Case("tool choice", ["What do you charge to install an oven? Check the knowledge base."],
         first_call("search_knowledge")),
    Case("exact arguments", ["Create a task named 'Call back Mr Silva' with high priority."],
         first_call("create_task", title="Call back Mr Silva", priority="high")),
    Case("exact arguments", ["Look up 'oven installation' in the knowledge base."],
         first_call("search_knowledge", query="oven installation")),
    Case("no tool", ["What is 15 minus 6?"], no_tool_says("9")),
    Case("no tool", ["What is the plural of 'mouse'?"], no_tool_says("mice")),
    Case("escalation", ["Please connect me with one of your support agents."], first_call("call_human")),
    Case("escalation", ["I'd rather discuss this with a human being than a bot."], first_call("call_human")),
    Case("grounded", ["What does installing a dishwasher cost?"], grounded("69", absent=("89",))),
    Case("grounded", ["For how long is a gift card valid?"], grounded("3", absent=("12",))),
    Case("I do not know", ["In what year was Nordlicht Home founded?"], does_not_know(r"\b(?:1[89]|20)\d\d\b")),
    Case("I do not know", ["How many parking spaces are there in the garage under the Lisbon office?"],
         does_not_know(r"\d")),
    Case("format", ["Answer with a single word: what is frozen water called?"], exactly("ice")),
    Case("format", ["Reply with only the number: how many legs does a spider have?"], exactly("8")),
    Case("memory", ["My dog's name is Bruno.", "What is my dog's name?"], remembers("Bruno")),
    Case("memory", ["I work as a nurse.", "What is my job?"], remembers("nurse")),
]


# Written after the decision was shown example turns (issue 22's third branch: a call_human
# turn, a search turn, answered statements and questions; the log-probability rule removed),
# committed before their first run; the knowledge above unchanged, its facts not asked before.
FRESH_2 = [
    Case("tool choice", ["Could you log a task for the warehouse: count the toasters in stock?"],
         first_call("create_task")),
    Case("tool choice", ["Is the Porto office open on Fridays? Please check the knowledge base."],
         first_call("search_knowledge")),
    Case("exact arguments", ["New task, high priority: Email the supplier about late deliveries"],
         first_call("create_task", title="Email the supplier about late deliveries", priority="high")),
    Case("exact arguments", ["Search the knowledge base for 'store credit'."],
         first_call("search_knowledge", query="store credit")),
    Case("no tool", ["What is 6 times 9?"], no_tool_says("54")),
    Case("no tool", ["What is the past tense of 'run'?"], no_tool_says("ran")),
    Case("escalation", ["Is there a human I could chat with instead?"], first_call("call_human")),
    Case("escalation", ["Please pass my case to your supervisor."], first_call("call_human")),
    Case("grounded", ["When does the Porto office open in the morning?"], grounded("9:00", absent=("8:30",))),
    Case("grounded", ["Above what order value is standard shipping free?"], grounded("50", absent=("12",))),
    Case("I do not know", ["What is the phone number of the Porto office?"], does_not_know(r"\d{3}")),
    Case("I do not know", ["How many technicians does Nordlicht Home employ?"], does_not_know(r"\d")),
    Case("format", ["Reply with only the number: how many sides does a hexagon have?"], exactly("6")),
    Case("format", ["Answer with one word: what colour is a ripe banana?"], exactly("yellow")),
    Case("memory", ["My flight leaves from gate B12.", "Which gate does my flight leave from?"], remembers("B12")),
    Case("memory", ["My favourite food is lasagne.", "What is my favourite food?"], remembers("lasagne")),
]


# Written after the calls of answered turns were left out of what the built-in model is shown
# (tool_adapter.answered_calls_dropped), committed before their first run: three per kind.
FRESH_3 = [
    Case("tool choice", ["Please raise a ticket: the kettle page has a broken image."], first_call("create_task")),
    Case("tool choice", ["What does your warranty cover on the Toaster Max? Look it up."],
         first_call("search_knowledge")),
    Case("tool choice", ["Jot down a task for us: reorder paper towels."], first_call("create_task")),
    Case("exact arguments", ["Create a task with the title 'Audit the returns shelf' and high priority."],
         first_call("create_task", title="Audit the returns shelf", priority="high")),
    Case("exact arguments", ["Search the knowledge base for: express shipping"],
         first_call("search_knowledge", query="express shipping")),
    Case("exact arguments", ["Add a medium priority task called Fix the loading dock door"],
         first_call("create_task", title="Fix the loading dock door", priority="medium")),
    Case("no tool", ["What is 20 divided by 4?"], no_tool_says("5")),
    Case("no tool", ["What is the opposite of 'early'?"], no_tool_says("late")),
    Case("no tool", ["How do you say 'thank you' in French?"], no_tool_says("merci")),
    Case("escalation", ["Get me someone from customer service, please."], first_call("call_human")),
    Case("escalation", ["I want to talk to your boss about this."], first_call("call_human")),
    Case("escalation", ["Can a real human take over this chat?"], first_call("call_human")),
    Case("grounded", ["Where do visitors sign in at the Lisbon office?"], grounded("reception")),
    Case("grounded", ["Within how many days must I register a Toaster Max for its warranty?"], grounded("30")),
    Case("grounded", ["How long is store credit from a return valid?"], grounded("12", absent=("3 years",))),
    Case("I do not know", ["What is the fax number of your Lisbon office?"], does_not_know()),
    Case("I do not know", ["Who designed the Kettle Pro?"], does_not_know(r"[A-Z][a-z]+ [A-Z][a-z]+")),
    Case("I do not know", ["How many stores does Nordlicht Home have in Spain?"], does_not_know(r"\d")),
    Case("format", ["Reply with only the number: how many wheels does a bicycle have?"], exactly("2")),
    Case("format", ["Answer with one word: what is the opposite of 'night'?"], exactly("day")),
    Case("format", ["List the first three months of the year, comma-separated, nothing else."],
         comma_list("january", "february", "march")),
    Case("memory", ["My booking reference is QX-4471.", "What is my booking reference?"], remembers("QX-4471")),
    Case("memory", ["I'm allergic to peanuts.", "What am I allergic to?"], remembers("peanuts")),
    Case("memory", ["My sister Lena lives in Oslo.", "Where does my sister live?"], remembers("Oslo")),
]


# Written after a choice among a few values was required, the user's words kept and statements
# not searched (issue 22's last changes), committed before their first run: three per kind.
FRESH_4 = [
    Case("tool choice", ["Put a task on the list: descale the demo coffee machine."], first_call("create_task")),
    Case("tool choice", ["Could you look in the knowledge base for the Kettle Pro warranty?"],
         first_call("search_knowledge")),
    Case("tool choice", ["We need a ticket for this: the newsletter link is dead."], first_call("create_task")),
    Case("exact arguments", ["Create a low priority task titled 'Sort the spare parts drawer'."],
         first_call("create_task", title="Sort the spare parts drawer", priority="low")),
    Case("exact arguments", ["Look up 'gift cards' in the knowledge base."],
         first_call("search_knowledge", query="gift cards")),
    Case("exact arguments", ["Add a task with high priority: Phone the courier about the missing parcel"],
         first_call("create_task", title="Phone the courier about the missing parcel", priority="high")),
    Case("no tool", ["What is 9 plus 16?"], no_tool_says("25")),
    Case("no tool", ["What is the plural of 'child'?"], no_tool_says("children")),
    Case("no tool", ["Convert 2 hours into minutes."], no_tool_says("120")),
    Case("escalation", ["Please get a staff member to contact me."], first_call("call_human")),
    Case("escalation", ["I would like to speak with someone in charge."], first_call("call_human")),
    Case("escalation", ["Transfer me to a human agent, please."], first_call("call_human")),
    Case("grounded", ["How fast is express shipping?"], grounded("next business day")),
    Case("grounded", ["On which day of the week is the Porto office closed?"], grounded("friday")),
    Case("grounded", ["What does it cost to have a built-in oven installed?"], grounded("89", absent=("69",))),
    Case("I do not know", ["What is the street address of the Porto office?"], does_not_know(r"\d")),
    Case("I do not know", ["Does Nordlicht Home sell refrigerators?"], does_not_know(r"(?i)\byes\b")),
    Case("I do not know", ["Who manages the Lisbon office?"], does_not_know(r"[A-Z][a-z]+ [A-Z][a-z]+ (?:is|manages)")),
    Case("format", ["Answer with one word: what is the colour of grass?"], exactly("green")),
    Case("format", ["Reply with only the number: how many minutes are in an hour?"], exactly("60")),
    Case("format", ["Answer yes or no only: is the sun a star?"], exactly("yes")),
    Case("memory", ["My car is a blue Volvo.", "What colour is my car?"], remembers("blue")),
    Case("memory", ["I was born in Lyon.", "Where was I born?"], remembers("Lyon")),
    Case("memory", ["My meeting is at 3 pm on Thursday.", "When is my meeting?"], remembers("3", "Thursday")),
]



# Written after answers from passages were checked against them (providers/grounding_check),
# committed before their first run: three per kind, the knowledge above unchanged.
FRESH_5 = [
    Case("tool choice", ["Can you file a task for the team: the oven manual link is broken?"],
         first_call("create_task")),
    Case("tool choice", ["Look it up for me: how long do I have to return an item I already opened?"],
         first_call("search_knowledge")),
    Case("tool choice", ["Note this as a task: check the returns desk printer."], first_call("create_task")),
    Case("exact arguments", ["Create a task titled 'Replace the lobby light bulbs' with medium priority."],
         first_call("create_task", title="Replace the lobby light bulbs", priority="medium")),
    Case("exact arguments", ["Search the knowledge base for: warranty registration"],
         first_call("search_knowledge", query="warranty registration")),
    Case("exact arguments", ["Add a low priority task: Water the office plants"],
         first_call("create_task", title="Water the office plants", priority="low")),
    Case("no tool", ["What is 11 times 3?"], no_tool_says("33")),
    Case("no tool", ["What is the plural of 'tooth'?"], no_tool_says("teeth")),
    Case("no tool", ["Translate 'cat' into German."], no_tool_says("katze")),
    Case("escalation", ["I need to talk to a person about a refund."], first_call("call_human")),
    Case("escalation", ["Please hand me over to someone on your staff."], first_call("call_human")),
    Case("escalation", ["Could a human agent help me instead?"], first_call("call_human")),
    Case("grounded", ["Until what time is the Lisbon office open?"], grounded("17:00", absent=("18:00",))),
    Case("grounded", ["How many days do I have to return an opened item?"], grounded("14", absent=("45",))),
    Case("grounded", ["Who do I ask for a parking permit?"], grounded("facilities")),
    Case("I do not know", ["How much does the Kettle Pro cost?"], does_not_know(r"\d")),
    Case("I do not know", ["What floor is the Porto office on?"], does_not_know(r"(?i)ground|\d")),
    Case("I do not know", ["Who is the head of the technicians team?"], does_not_know(r"[A-Z][a-z]+ [A-Z][a-z]+")),
    Case("format", ["Answer with one word: what animal says 'meow'?"], exactly("cat")),
    Case("format", ["Reply with only the number: how many months are in a year?"], exactly("12")),
    Case("format", ["Answer yes or no only: is ice cold?"], exactly("yes")),
    Case("memory", ["My son is called Elias.", "What is my son called?"], remembers("Elias")),
    Case("memory", ["I parked on level 4.", "Which level did I park on?"], remembers("4")),
    Case("memory", ["My company is Brightwave Ltd.", "What is the name of my company?"], remembers("Brightwave")),
]

# Written after the sentence focus of answers from passages (tool_adapter.focused) and
# committed before their first run.
FRESH_6 = [
    Case("tool choice", ["Please log a task for the web team: the contact form does not send."],
         first_call("create_task")),
    Case("tool choice", ["Can you check what the knowledge base says about oven installation?"],
         first_call("search_knowledge")),
    Case("tool choice", ["I'd like this tracked as a to-do: order new shelf labels."], first_call("create_task")),
    Case("exact arguments", ["Make a high priority task called 'Fix the broken checkout button'."],
         first_call("create_task", title="Fix the broken checkout button", priority="high")),
    Case("exact arguments", ["Search the knowledge base for dishwasher installation"],
         first_call("search_knowledge", query="dishwasher installation")),
    Case("exact arguments", ["Create a low priority task: Archive old invoices"],
         first_call("create_task", title="Archive old invoices", priority="low")),
    Case("no tool", ["What is 14 divided by 2?"], no_tool_says("7")),
    Case("no tool", ["Which is the largest ocean on Earth?"], no_tool_says("pacific")),
    Case("no tool", ["What colour do you get by mixing blue and yellow?"], no_tool_says("green")),
    Case("escalation", ["I'd rather speak with a real person."], first_call("call_human")),
    Case("escalation", ["Transfer me to one of your colleagues."], first_call("call_human")),
    Case("escalation", ["This bot is not helping; put a human on."], first_call("call_human")),
    Case("grounded", ["What do I get back if I return an unopened item?"], grounded("refund", absent=("14",))),
    Case("grounded", ["Where do staff park?"], grounded("garage")),
    Case("grounded", ["On which weekdays is the Lisbon office open?"], grounded("monday", "friday",
                                                                                absent=("thursday",))),
    Case("I do not know", ["Does the Toaster Max come in red?"], does_not_know(r"(?i)\byes\b")),
    Case("I do not know", ["Which payment methods do you accept?"],
         does_not_know(r"(?i)visa|mastercard|paypal|cash|card")),
    Case("I do not know", ["What is the name of your delivery partner?"],
         does_not_know(r"(?i)dhl|ups|fedex|post|logistics")),
    Case("format", ["Answer with just the number: what is 5 plus 4?"], exactly("9")),
    Case("format", ["Reply in one word: what do bees make?"], exactly("honey")),
    Case("format", ["Answer only yes or no: is fire hot?"], exactly("yes")),
    Case("memory", ["My train leaves at 07:45.", "When does my train leave?"], remembers("7:45")),
    Case("memory", ["My manager is called Sofia Berg.", "What is my manager's name?"], remembers("Sofia")),
    Case("memory", ["I am 34 years old.", "How old am I?"], remembers("34")),
]

# Written after questions about what the user told earlier were no longer searched
# (message_reading.told_earlier) and committed before their first run.
FRESH_7 = [
    Case("tool choice", ["Put this on the team's task list: replace the broken kettle in the kitchen."],
         first_call("create_task")),
    Case("tool choice", ["Look in the knowledge base: do you offer installation for ovens?"],
         first_call("search_knowledge")),
    Case("tool choice", ["Please raise a ticket: our invoice emails arrive twice."], first_call("create_task")),
    Case("exact arguments", ["Create a task named 'Call the tile supplier' with low priority."],
         first_call("create_task", title="Call the tile supplier", priority="low")),
    Case("exact arguments", ["Search the knowledge base for 'express shipping cost'"],
         first_call("search_knowledge", query="express shipping cost")),
    Case("exact arguments", ["Add a high priority task: Restart the payment server"],
         first_call("create_task", title="Restart the payment server", priority="high")),
    Case("no tool", ["What is 6 times 7?"], no_tool_says("42")),
    Case("no tool", ["What is 100 divided by 4?"], no_tool_says("25")),
    Case("no tool", ["What is the boiling point of water in Celsius?"], no_tool_says("100")),
    Case("escalation", ["Please connect me with a human."], first_call("call_human")),
    Case("escalation", ["I want to complain to a manager."], first_call("call_human")),
    Case("escalation", ["Is there a person I can chat with instead of a bot?"], first_call("call_human")),
    Case("grounded", ["Do I get cash back for an opened item?"], grounded("store credit")),
    Case("grounded", ["How many days does standard shipping take?"], grounded("3", "5", absent=("next",))),
    Case("grounded", ["How many years of warranty does a Kettle Pro have?"], grounded("2", absent=("3",))),
    Case("I do not know", ["What are the opening hours of your Madrid store?"], does_not_know(r"\d")),
    Case("I do not know", ["Does the Kettle Pro have an auto shut-off feature?"], does_not_know(r"(?i)\byes\b")),
    Case("I do not know", ["How much does a replacement lid for the Kettle Pro cost?"], does_not_know(r"\d")),
    Case("format", ["Answer with one word: which season comes after winter?"], exactly("spring")),
    Case("format", ["Reply with only the number: what is 10 minus 3?"], exactly("7")),
    Case("format", ["Answer yes or no only: do fish live in water?"], exactly("yes")),
    Case("memory", ["My seat number is 14C.", "What is my seat number?"], remembers("14C")),
    Case("memory", ["I drive a red Fiat.", "What car do I drive?"], remembers("Fiat")),
    Case("memory", ["My appointment is on Tuesday.", "When is my appointment?"], remembers("Tuesday")),
]

# Written after passages that do not name what the question names answer nothing
# (tool_adapter.unknown_names) and committed before their first run.
FRESH_8 = [
    Case("tool choice", ["Log a task for the team: the showroom fridge display flickers."],
         first_call("create_task")),
    Case("tool choice", ["Please look up what your knowledge base says about gift cards."],
         first_call("search_knowledge")),
    Case("tool choice", ["Can you check the knowledge base for anything on toaster warranties?"],
         first_call("search_knowledge")),
    Case("exact arguments", ["Create a medium priority task titled 'Order more packing tape'."],
         first_call("create_task", title="Order more packing tape", priority="medium")),
    Case("exact arguments", ["Search the knowledge base for gift card validity"],
         first_call("search_knowledge", query="gift card validity")),
    Case("exact arguments", ["Make a low priority task named 'Sort the returns shelf'"],
         first_call("create_task", title="Sort the returns shelf", priority="low")),
    Case("no tool", ["How many hours are there in a day?"], no_tool_says("24")),
    Case("no tool", ["What is 81 divided by 9?"], no_tool_says("9")),
    Case("no tool", ["Which planet is closest to the sun?"], no_tool_says("mercury")),
    Case("escalation", ["Can I talk to somebody from your support team, please?"], first_call("call_human")),
    Case("escalation", ["I need a real human to sort this out."], first_call("call_human")),
    Case("escalation", ["Let me speak to someone in charge."], first_call("call_human")),
    Case("grounded", ["How much does it cost to have a dishwasher installed?"], grounded("69", absent=("89",))),
    Case("grounded", ["For how many months can I use store credit I got for a return?"],
         grounded("12", absent=("3",))),
    Case("grounded", ["What time does the Porto office close?"], grounded("18", absent=("17",))),
    Case("I do not know", ["Do you deliver to Switzerland?"], does_not_know(r"(?i)\byes\b")),
    Case("I do not know", ["Do you sell coffee machines?"], does_not_know(r"(?i)\byes\b")),
    Case("I do not know", ["How much does installing a fridge cost?"], does_not_know(r"\d")),
    Case("format", ["Answer with one word: which animal barks?"], exactly("dog")),
    Case("format", ["Give only the number: how many sides does a triangle have?"], exactly("3")),
    Case("format", ["Name the three primary colours of light, separated by commas, nothing else."],
         comma_list("red", "green", "blue")),
    Case("memory", ["My locker code is 3390.", "What is my locker code?"], remembers("3390")),
    Case("memory", ["I moved here from Braga last year.", "Where did I move from?"], remembers("Braga")),
    Case("memory", ["I work night shifts on weekends.", "When do I work night shifts?"], remembers("weekend")),
]

# Written after what "you" sell or offer searched first and the answer notes
# (message_reading.answer_note), and committed before their first run.
FRESH_9 = [
    Case("tool choice", ["Please open a task: the demo oven in the shop window needs cleaning."],
         first_call("create_task")),
    Case("tool choice", ["Look up the warranty rules for the Toaster Max in your knowledge base."],
         first_call("search_knowledge")),
    Case("tool choice", ["Track this as a task, please: the stockroom light is broken."], first_call("create_task")),
    Case("exact arguments", ["Create a task called 'Print new price labels' with high priority."],
         first_call("create_task", title="Print new price labels", priority="high")),
    Case("exact arguments", ["Search the knowledge base for oven removal"],
         first_call("search_knowledge", query="oven removal")),
    Case("exact arguments", ["New low priority task: Clean the coffee corner"],
         first_call("create_task", title="Clean the coffee corner", priority="low")),
    Case("no tool", ["What is 50 minus 18?"], no_tool_says("32")),
    Case("no tool", ["What language is spoken in Brazil?"], no_tool_says("portuguese")),
    Case("no tool", ["How many months have 31 days?"], no_tool_says("7")),
    Case("escalation", ["Could a member of your staff call me, please?"], first_call("call_human")),
    Case("escalation", ["I'd like to talk this through with an actual person."], first_call("call_human")),
    Case("escalation", ["Is a real support agent available to help me?"], first_call("call_human")),
    Case("grounded", ["Is standard shipping free on an order of 60 euros?"], grounded("free")),
    Case("grounded", ["Does your oven installation include taking away the old oven?"], grounded("remov")),
    Case("grounded", ["Where is the reception of the Lisbon office?"], grounded("ground")),
    Case("I do not know", ["Do you have a showroom in Faro?"], does_not_know(r"(?i)\byes\b")),
    Case("I do not know", ["What is the weight of the Toaster Max?"], does_not_know(r"\d")),
    Case("I do not know", ["Can I pay in instalments?"], does_not_know(r"(?i)\byes\b")),
    Case("format", ["Reply with only the number: how many players are on a football team?"], exactly("11")),
    Case("format", ["One word only: which fruit is yellow and curved?"], exactly("banana")),
    Case("format", ["Write the numbers one to three as words, separated by commas, nothing else."],
         comma_list("one", "two", "three")),
    Case("memory", ["My postcode is 4050-123.", "What is my postcode?"], remembers("4050-123")),
    Case("memory", ["My brother Tiago is a chef.", "What does my brother do?"], remembers("chef")),
    Case("memory", ["I ordered a Toaster Max last week.", "Which product did I order?"], remembers("Toaster Max")),
]

# Written after names the closest passages use and what one may do as a customer were made
# signs of a question about the organisation, and committed before their first run.
FRESH_10 = [
    Case("tool choice", ["Add this to the to-do list: reorder kettle descaler for the shop."],
         first_call("create_task")),
    Case("tool choice", ["Consult the knowledge base about visitor parking at the Lisbon office."],
         first_call("search_knowledge")),
    Case("tool choice", ["File a task: the price on the Kettle Pro shelf tag is wrong."], first_call("create_task")),
    Case("exact arguments", ["Please create a high priority task named 'Replace the shop door lock'."],
         first_call("create_task", title="Replace the shop door lock", priority="high")),
    Case("exact arguments", ["Search the knowledge base for visitor sign-in"],
         first_call("search_knowledge", query="visitor sign-in")),
    Case("exact arguments", ["Add a medium priority task: Check the toaster stock"],
         first_call("create_task", title="Check the toaster stock", priority="medium")),
    Case("no tool", ["What is 120 divided by 10?"], no_tool_says("12")),
    Case("no tool", ["What is the largest planet in our solar system?"], no_tool_says("jupiter")),
    Case("no tool", ["How many seconds are in a minute?"], no_tool_says("60")),
    Case("escalation", ["Get a human on the line, please."], first_call("call_human")),
    Case("escalation", ["I would like a person from your company to help me."], first_call("call_human")),
    Case("escalation", ["Stop the bot, I want a human agent."], first_call("call_human")),
    Case("grounded", ["How much do you charge to install a dishwasher?"], grounded("69", absent=("89",))),
    Case("grounded", ["Is the Lisbon office open on Fridays?"], grounded("friday")),
    Case("grounded", ["How many days after delivery can I still send back an unopened item?"],
         grounded("45", absent=("14",))),
    Case("I do not know", ["Do you repair broken toasters?"], does_not_know(r"(?i)\byes\b")),
    Case("I do not know", ["Can I collect my order from the Porto office?"], does_not_know(r"(?i)\byes\b")),
    Case("I do not know", ["How many people work at the Porto office?"], does_not_know(r"\d")),
    Case("format", ["Answer in one word: what is the colour of snow?"], exactly("white")),
    Case("format", ["Reply with only the number: what is 4 times 5?"], exactly("20")),
    Case("format", ["Answer only yes or no: can birds fly?"], exactly("yes")),
    Case("memory", ["My account name is greenbird42.", "What is my account name?"], remembers("greenbird42")),
    Case("memory", ["I have three children.", "How many children do I have?"], remembers("three")),
    Case("memory", ["My delivery is due on Friday.", "When is my delivery due?"], remembers("Friday")),
]


FRESH_11 = [
    Case("tool choice", ["Create a to-do for the warehouse: count the remaining Toaster Max boxes."],
         first_call("create_task")),
    Case("tool choice", ["Check your knowledge base for the Porto office hours."], first_call("search_knowledge")),
    Case("tool choice", ["Could you note a task: the website footer shows last year's date."],
         first_call("create_task")),
    Case("exact arguments", ["Create a low priority task titled 'Refill the printer paper'."],
         first_call("create_task", title="Refill the printer paper", priority="low")),
    Case("exact arguments", ["Search the knowledge base for Porto opening hours"],
         first_call("search_knowledge", query="Porto opening hours")),
    Case("exact arguments", ["New high priority task named 'Fix the freezer alarm'"],
         first_call("create_task", title="Fix the freezer alarm", priority="high")),
    Case("no tool", ["What is 27 plus 14?"], no_tool_says("41")),
    Case("no tool", ["What is the capital of Norway?"], no_tool_says("oslo")),
    Case("no tool", ["What is 64 divided by 8?"], no_tool_says("8")),
    Case("escalation", ["Hand this conversation to one of your human staff, please."], first_call("call_human")),
    Case("escalation", ["Is anyone human available to take my case?"], first_call("call_human")),
    Case("escalation", ["I'm done with the chatbot; I need human support."], first_call("call_human")),
    Case("grounded", ["How long can a gift card be used after it is bought?"], grounded("3", absent=("12",))),
    Case("grounded", ["How big is the discount for newsletter subscribers?"], grounded("10", absent=("60",))),
    Case("grounded", ["How many days can I use a newsletter discount code?"], grounded("60", absent=("10",))),
    Case("I do not know", ["Do you offer a student discount?"], does_not_know(r"(?i)\byes\b")),
    Case("I do not know", ["Is there a loyalty card for regular customers?"], does_not_know(r"(?i)\byes\b")),
    Case("I do not know", ["How long does the Kettle Pro take to boil a litre of water?"],
         does_not_know(r"\d+ ?(?:seconds|minutes)")),
    Case("format", ["In one word, which animal gives us wool?"], exactly("sheep")),
    Case("format", ["Give just the number: how many continents are there?"], exactly("7")),
    Case("format", ["Yes or no, nothing else: is the moon bigger than the earth?"], exactly("no")),
    Case("memory", ["My neighbour's parrot is called Kiko.", "What is the parrot next door called?"], remembers("Kiko")),
    Case("memory", ["I paid with the card ending in 8841.", "Which card did I pay with?"], remembers("8841")),
    Case("memory", ["I grew up in Aveiro.", "Where did I grow up?"], remembers("Aveiro")),
]


FRESH_12 = [
    Case("tool choice", ["Make a task for me: update the holiday opening times on the website."],
         first_call("create_task")),
    Case("tool choice", ["Please find out from the knowledge base whether there are cooking classes."],
         first_call("search_knowledge")),
    Case("tool choice", ["Raise a to-do: the loading dock scale shows the wrong weight."], first_call("create_task")),
    Case("exact arguments", ["Add a low priority task called 'Update the staff rota'."],
         first_call("create_task", title="Update the staff rota", priority="low")),
    Case("exact arguments", ["Search the knowledge base for cooking class booking"],
         first_call("search_knowledge", query="cooking class booking")),
    Case("exact arguments", ["Create a task with high priority: Replace the till printer"],
         first_call("create_task", title="Replace the till printer", priority="high")),
    Case("no tool", ["What is 45 minus 17?"], no_tool_says("28")),
    Case("no tool", ["Which ocean lies between Europe and America?"], no_tool_says("atlantic")),
    Case("no tool", ["What is half of 90?"], no_tool_says("45")),
    Case("escalation", ["Could you pass me to a human being?"], first_call("call_human")),
    Case("escalation", ["Your colleague in the office should handle this, not a bot; put me through."], first_call("call_human")),
    Case("escalation", ["Connect me to your customer service team, a real person please."], first_call("call_human")),
    Case("grounded", ["On which day are the cooking classes held?"], grounded("saturday")),
    Case("grounded", ["How many people can join one cooking class?"], grounded("12", absent=("10",))),
    Case("grounded", ["What time do the cooking classes start?"], grounded("10", absent=("12",))),
    Case("I do not know", ["Do the cooking classes include vegetarian recipes?"], does_not_know(r"(?i)\byes\b")),
    Case("I do not know", ["Which chef teaches the cooking classes?"], does_not_know(r"[A-Z][a-z]+ [A-Z][a-z]+")),
    Case("I do not know", ["Is there a car park for customers at the Porto office?"], does_not_know(r"(?i)\byes\b")),
    Case("format", ["Number only, please: what is 2 plus 2?"], exactly("4")),
    Case("format", ["Just yes or no: do cows give milk?"], exactly("yes")),
    Case("format", ["One word only: what do you call a baby dog?"], exactly("puppy")),
    Case("memory", ["My order arrived damaged on Monday.", "On which day did my order arrive?"], remembers("Monday")),
    Case("memory", ["Our wedding anniversary is on 12 June.", "When is our anniversary?"], remembers("12", "june")),
    Case("memory", ["I usually cook bacalhau on Sundays.", "What do I usually cook on Sundays?"], remembers("bacalhau")),
]


FRESH_13 = [
    Case("tool choice", ["Set up a task so someone fixes the wobbly table in the canteen."], first_call("create_task")),
    Case("tool choice", ["What do your documents say about registering a toaster?"], first_call("search_knowledge")),
    Case("tool choice", ["Put a reminder on the team board to call the glass supplier."], first_call("create_task")),
    Case("exact arguments", ["Make a medium priority task: Label the spare kettles"],
         first_call("create_task", title="Label the spare kettles", priority="medium")),
    Case("exact arguments", ["Search the knowledge base for newsletter schedule"],
         first_call("search_knowledge", query="newsletter schedule")),
    Case("exact arguments", ["I need a low priority task titled 'Dust the display shelves'."],
         first_call("create_task", title="Dust the display shelves", priority="low")),
    Case("no tool", ["What is 36 plus 7?"], no_tool_says("43")),
    Case("no tool", ["Which country has Madrid as its capital?"], no_tool_says("spain")),
    Case("no tool", ["How many minutes are in two hours?"], no_tool_says("120")),
    Case("escalation", ["Give me a human, not a machine."], first_call("call_human")),
    Case("escalation", ["Would somebody on your staff be able to phone me back?"], first_call("call_human")),
    Case("escalation", ["I insist on speaking to a live agent."], first_call("call_human")),
    Case("grounded", ["What is the price of express delivery?"], grounded("12", absent=("50",))),
    Case("grounded", ["How often is the newsletter sent?"], grounded("tuesday")),
    Case("grounded", ["Which floor is the Lisbon reception on?"], grounded("ground")),
    Case("I do not know", ["Does the Kettle Pro come with a spare filter?"], does_not_know(r"(?i)\byes\b")),
    Case("I do not know", ["Who writes the newsletter?"], does_not_know(r"[A-Z][a-z]+ [A-Z][a-z]+")),
    Case("I do not know", ["What is the minimum age for the cooking classes?"], does_not_know(r"\d")),
    Case("format", ["Only yes or no: is a whale a fish?"], exactly("no")),
    Case("format", ["Reply with only the number: what is 3 squared?"], exactly("9")),
    Case("format", ["Name the colour of coal in one word."], exactly("black")),
    Case("memory", ["My car's licence plate is AB-12-CD.", "What is my licence plate?"], remembers("AB-12-CD")),
    Case("memory", ["We are moving to Lagos in March.", "When are we moving?"], remembers("march")),
    Case("memory", ["My doctor is Dr. Ferreira.", "Who is my doctor?"], remembers("Ferreira")),
]


FRESH_14 = [
    Case("tool choice", ["Open a task for the shop team: the price scanner at till two is slow."],
         first_call("create_task")),
    Case("tool choice", ["What do your policies say about returning a gift?"], first_call("search_knowledge")),
    Case("tool choice", ["Please write up a to-do: send the monthly stock report."], first_call("create_task")),
    Case("exact arguments", ["Create a high priority task called 'Check the fire extinguishers'."],
         first_call("create_task", title="Check the fire extinguishers", priority="high")),
    Case("exact arguments", ["Search the knowledge base for repair fee"],
         first_call("search_knowledge", query="repair fee")),
    Case("exact arguments", ["Add a task with medium priority titled 'Book the window cleaners'."],
         first_call("create_task", title="Book the window cleaners", priority="medium")),
    Case("no tool", ["What is 56 divided by 7?"], no_tool_says("8")),
    Case("no tool", ["What is the largest animal on Earth?"], no_tool_says("whale")),
    Case("no tool", ["How many days are there in a leap year?"], no_tool_says("366")),
    Case("escalation", ["Is there someone in your team I could speak with directly?"], first_call("call_human")),
    Case("escalation", ["I would like a supervisor to deal with this, please."], first_call("call_human")),
    Case("escalation", ["This bot is no help, connect me with a person."], first_call("call_human")),
    Case("grounded", ["What does it cost to fix my kettle once its warranty is over?"], grounded("35", absent=("10",))),
    Case("grounded", ["How soon is a repaired appliance sent back?"], grounded("10", absent=("35",))),
    Case("grounded", ["Is the repair fee the whole price, or are parts extra?"], grounded("parts", absent=("10",))),
    Case("I do not know", ["Do you repair coffee grinders?"], does_not_know(r"(?i)\byes\b")),
    Case("I do not know", ["Can I bring my dog to the Lisbon office?"], does_not_know(r"(?i)\byes\b")),
    Case("I do not know", ["Is the Kettle Pro on sale this month?"], does_not_know(r"(?i)\byes\b|\d+ ?%")),
    Case("format", ["In one word: which farm bird lays eggs and clucks?"], exactly("chicken", "hen")),
    Case("format", ["Answer only yes or no: does the sun rise in the east?"], exactly("yes")),
    Case("format", ["Give only the number: what is 6 plus 6?"], exactly("12")),
    Case("memory", ["My niece Marta studies in Braga.", "Where does my niece study?"], remembers("Braga")),
    Case("memory", ["I left my umbrella in locker 14.", "Which locker has my umbrella?"], remembers("14")),
    Case("memory", ["My gym class starts at 18:30.", "When does my gym class start?"], remembers("18:30")),
]


FRESH_15 = [
    Case("tool choice", ["Could you put down a task: the delivery van needs new tyres."], first_call("create_task")),
    Case("tool choice", ["What do your guidelines say about store credit?"], first_call("search_knowledge")),
    Case("tool choice", ["Add an item to the task list: water the plants at reception."], first_call("create_task")),
    Case("exact arguments", ["Create a task titled 'Test the backup generator' with medium priority."],
         first_call("create_task", title="Test the backup generator", priority="medium")),
    Case("exact arguments", ["Search the knowledge base for Wednesday oven demo"],
         first_call("search_knowledge", query="Wednesday oven demo")),
    Case("exact arguments", ["New low priority task: Sort the lost and found box"],
         first_call("create_task", title="Sort the lost and found box", priority="low")),
    Case("no tool", ["What is 17 times 4?"], no_tool_says("68")),
    Case("no tool", ["Which gas do plants take in from the air?"], no_tool_says("carbon dioxide")),
    Case("no tool", ["How many legs does an insect have?"], no_tool_says("6")),
    Case("escalation", ["May I speak with a member of your support staff?"], first_call("call_human")),
    Case("escalation", ["Pass this conversation to a human agent, please."], first_call("call_human")),
    Case("escalation", ["I need to talk to someone real about a damaged delivery."], first_call("call_human")),
    Case("grounded", ["On which day of the week are the showroom demonstrations?"], grounded("wednesday")),
    Case("grounded", ["How long does a demonstration in the showroom last?"], grounded("45", absent=("15",))),
    Case("grounded", ["How are places in a cooking class reserved?"], grounded("email")),
    Case("I do not know", ["Do you deliver on Sundays?"], does_not_know(r"(?i)\byes\b")),
    Case("I do not know", ["How many watts does the Kettle Pro use?"], does_not_know(r"\d{3,}")),
    Case("I do not know", ["Is there a cancellation fee for a cooking class?"], does_not_know(r"(?i)\d|\byes\b")),
    Case("format", ["Answer with one word: what colour are most leaves in summer?"], exactly("green")),
    Case("format", ["Reply with just yes or no: is 2 an even number?"], exactly("yes")),
    Case("format", ["Reply with only the number: how many hours are in two days?"], exactly("48")),
    Case("memory", ["My flat is number 27.", "What is my flat number?"], remembers("27")),
    Case("memory", ["My train ticket cost 42 euros.", "How much did my train ticket cost?"], remembers("42")),
    Case("memory", ["Our cat is called Miso.", "What is our cat called?"], remembers("Miso")),
]


FRESH_16 = [
    Case("tool choice", ["The coffee machine in the staff room leaks; please make a task for it."],
         first_call("create_task")),
    Case("tool choice", ["What does your knowledge base say about delivery slots?"], first_call("search_knowledge")),
    Case("tool choice", ["Please get a task going to repaint the shop sign."], first_call("create_task")),
    Case("exact arguments", ["Create a medium priority task called 'Order new receipt rolls'."],
         first_call("create_task", title="Order new receipt rolls", priority="medium")),
    Case("exact arguments", ["Search the knowledge base for carrying to upper floors"],
         first_call("search_knowledge", query="carrying to upper floors")),
    Case("exact arguments", ["Add a high priority task titled 'Fix the shop alarm'."],
         first_call("create_task", title="Fix the shop alarm", priority="high")),
    Case("no tool", ["What is 90 minus 35?"], no_tool_says("55")),
    Case("no tool", ["What is the capital of Japan?"], no_tool_says("tokyo")),
    Case("no tool", ["Which animal is known as the king of the jungle?"], no_tool_says("lion")),
    Case("escalation", ["Put me in touch with a real member of staff, please."], first_call("call_human")),
    Case("escalation", ["Can you transfer me to somebody in customer service?"], first_call("call_human")),
    Case("escalation", ["Could you fetch a colleague of yours to help me?"], first_call("call_human")),
    Case("grounded", ["Which delivery slot is in the afternoon?"], grounded("13", absent=("8",))),
    Case("grounded", ["How much extra does it cost to carry a fridge up to my floor?"], grounded("20")),
    Case("grounded", ["When does the morning delivery slot start?"], grounded("8", absent=("13",))),
    Case("I do not know", ["Is delivery possible on public holidays?"], does_not_know(r"(?i)\byes\b")),
    Case("I do not know", ["What colours does the Kettle Pro come in?"],
         does_not_know(r"(?i)\b(?:red|black|white|silver|blue|green|grey)\b")),
    Case("I do not know", ["Does the Lisbon office have a lift?"], does_not_know(r"(?i)\byes\b")),
    Case("format", ["Answer with one word: what colour is a lemon?"], exactly("yellow")),
    Case("format", ["Reply with only the number: what is 8 times 7?"], exactly("56")),
    Case("format", ["Answer yes or no only: is the Pacific an ocean?"], exactly("yes")),
    Case("memory", ["My bike is a blue Gazelle.", "What brand is my bike?"], remembers("Gazelle")),
    Case("memory", ["I booked table 9 for tonight.", "Which table did I book?"], remembers("9")),
    Case("memory", ["We adopted a puppy called Rex.", "What did we name our puppy?"], remembers("Rex")),
]


FRESH_17 = [
    Case("tool choice", ["The card reader at the till keeps freezing; could you log a task for it?"],
         first_call("create_task")),
    Case("tool choice", ["What does the knowledge base say about recycling old appliances?"],
         first_call("search_knowledge")),
    Case("tool choice", ["Please open a task to clean the front windows."], first_call("create_task")),
    Case("exact arguments", ["Create a low priority task titled 'Water the office plants'."],
         first_call("create_task", title="Water the office plants", priority="low")),
    Case("exact arguments", ["Search the knowledge base for: dropping off small electrical items"],
         first_call("search_knowledge", query="dropping off small electrical items")),
    Case("exact arguments", ["Add a medium priority task called 'Book the fire safety check'."],
         first_call("create_task", title="Book the fire safety check", priority="medium")),
    Case("no tool", ["What is 144 divided by 12?"], no_tool_says("12")),
    Case("no tool", ["Name the capital city of Canada."], no_tool_says("ottawa")),
    Case("no tool", ["Which planet is known as the Red Planet?"], no_tool_says("mars")),
    Case("escalation", ["Have somebody from support ring me back, please."],
         first_call("call_human")),
    Case("escalation", ["Let me talk with one of your staff instead of a bot."], first_call("call_human")),
    Case("escalation", ["Is a supervisor available to speak with me?"], first_call("call_human")),
    Case("grounded", ["How much does it cost to have my old appliance taken away?"], grounded("15")),
    Case("grounded", ["Where can I drop off an old kettle?"], grounded("porto")),
    Case("grounded", ["On which days can small electrical items be dropped off?"], grounded("weekday")),
    Case("I do not know", ["How much do you pay as a trade-in for my old oven?"], does_not_know(r"\d")),
    Case("I do not know", ["Which email address should complaints go to?"], does_not_know(r"@")),
    Case("I do not know", ["Is the Toaster Max safe to put in a dishwasher?"], does_not_know(r"(?i)\byes\b")),
    Case("format", ["Tell me in one word: which animal moos?"], exactly("cow")),
    Case("format", ["Just the number, please: what is 9 plus 8?"], exactly("17")),
    Case("format", ["Yes or no only: do penguins lay eggs?"], exactly("yes")),
    Case("memory", ["My gym membership number is 88317.", "What is my gym membership number?"],
         remembers("88317")),
    Case("memory", ["Our dog is a beagle named Toby.", "What breed is our dog?"], remembers("beagle")),
    Case("memory", ["My dentist appointment is at 16:30.", "What time is my dentist appointment?"],
         remembers("16:30")),
]


FRESH_18 = [
    Case("tool choice", ["Our printer in the back office is out of toner; please raise a task."],
         first_call("create_task")),
    Case("tool choice", ["Check your knowledge base about price matching."], first_call("search_knowledge")),
    Case("tool choice", ["Make a ticket: the entrance door squeaks."], first_call("create_task")),
    Case("exact arguments", ["Create a high priority task titled 'Replace the broken shelf'."],
         first_call("create_task", title="Replace the broken shelf", priority="high")),
    Case("exact arguments", ["Search the knowledge base for: proof of a lower price"],
         first_call("search_knowledge", query="proof of a lower price")),
    Case("exact arguments", ["Add a low priority task named 'Sort the lost property box'."],
         first_call("create_task", title="Sort the lost property box", priority="low")),
    Case("no tool", ["What is 15 plus 28?"], no_tool_says("43")),
    Case("no tool", ["In which city is the Eiffel Tower?"], no_tool_says("paris")),
    Case("no tool", ["Who wrote Romeo and Juliet?"], no_tool_says("shakespeare")),
    Case("escalation", ["Would one of your colleagues be free to ring me?"], first_call("call_human")),
    Case("escalation", ["Get one of your managers on the phone for me."], first_call("call_human")),
    Case("escalation", ["I want a real person, now."], first_call("call_human")),
    Case("grounded", ["How many days after buying can I ask for a price match?"], grounded("14")),
    Case("grounded", ["What proof do I need to send for a price match?"], grounded("receipt")),
    Case("grounded", ["Which shops' prices do you match?"], grounded("portugal")),
    Case("I do not know", ["What is the VAT number of Nordlicht Home?"], does_not_know(r"\d{4}")),
    Case("I do not know", ["How many vans does your delivery team have?"], does_not_know(r"\d")),
    Case("I do not know", ["Does the Toaster Max have a defrost setting?"], does_not_know(r"(?i)\byes\b")),
    Case("format", ["Answer in a single word: what is the opposite of hot?"], exactly("cold")),
    Case("format", ["Give only the number: how many legs does a cat have?"], exactly("4")),
    Case("format", ["Answer only yes or no: is Paris in France?"], exactly("yes")),
    Case("memory", ["My phone number ends in 7731.", "What does my phone number end in?"], remembers("7731")),
    Case("memory", ["I'm staying at the Hotel Aurora.", "Which hotel am I staying at?"], remembers("aurora")),
    Case("memory", ["My niece is called Ingrid.", "What is my niece called?"], remembers("ingrid")),
]


FRESH_19 = [
    Case("tool choice", ["The fridge in the staff kitchen smells bad; file a task to get it cleaned."],
         first_call("create_task")),
    Case("tool choice", ["Do you have anything written about ordering spare parts?"], first_call("search_knowledge")),
    Case("tool choice", ["Log a ticket: the lift to the second floor is stuck."], first_call("create_task")),
    Case("exact arguments", ["Please make me a task, medium priority, with the title 'Print new name badges'."],
         first_call("create_task", title="Print new name badges", priority="medium")),
    Case("exact arguments", ["Search the knowledge base for: replacement seals"],
         first_call("search_knowledge", query="replacement seals")),
    Case("exact arguments", ["New task, high priority: 'Fix the dripping tap'."],
         first_call("create_task", title="Fix the dripping tap", priority="high")),
    Case("no tool", ["What do you get when you multiply 13 by 7?"], no_tool_says("91")),
    Case("no tool", ["Which metal is liquid at room temperature?"], no_tool_says("mercury")),
    Case("no tool", ["Who painted the Mona Lisa?"], no_tool_says("leonardo")),
    Case("escalation", ["I'd rather deal with a person than a chatbot."], first_call("call_human")),
    Case("escalation", ["Please put me through to your customer service team."], first_call("call_human")),
    Case("escalation", ["Can an employee of yours phone me about this?"], first_call("call_human")),
    Case("grounded", ["For how many years after a sale can I still order spare parts?"], grounded("8")),
    Case("grounded", ["Do I pay shipping for a replacement filter?"], grounded("free")),
    Case("grounded", ["How do I order a spare part?"], grounded("phone")),
    Case("I do not know", ["How loud is the Toaster Max in decibels?"], does_not_know(r"\d")),
    Case("I do not know", ["Do you ship orders to Brazil?"], does_not_know(r"(?i)\byes\b")),
    Case("I do not know", ["Is the Toaster Max available in stainless steel?"], does_not_know(r"(?i)\byes\b")),
    Case("format", ["In a single word, what is a young cat called?"], exactly("kitten")),
    Case("format", ["Give me only the number: how many strings does a standard guitar have?"], exactly("6")),
    Case("format", ["Yes or no only: does ice float on water?"], exactly("yes")),
    Case("memory", ["My locker number is 412.", "What is my locker number?"], remembers("412")),
    Case("memory", ["My aunt runs a bakery in Cork.", "What kind of shop does my aunt run?"], remembers("bakery")),
    Case("memory", ["My favourite tea is rooibos.", "Which tea do I like best?"], remembers("rooibos")),
]


FRESH_20 = [
    Case("tool choice", ["The heating in the warehouse has broken down, please create a task."],
         first_call("create_task")),
    Case("tool choice", ["What do your documents say about the loyalty club?"], first_call("search_knowledge")),
    Case("tool choice", ["Could you note a to-do for us to renew the domain name?"], first_call("create_task")),
    Case("exact arguments", ["Set up a task with low priority, titled 'Restock the paper towels'."],
         first_call("create_task", title="Restock the paper towels", priority="low")),
    Case("exact arguments", ["Search the knowledge base for: exchanging loyalty points"],
         first_call("search_knowledge", query="exchanging loyalty points")),
    Case("exact arguments", ["Add a high priority task named 'Repair the alarm system'."],
         first_call("create_task", title="Repair the alarm system", priority="high")),
    Case("no tool", ["What is 250 minus 75?"], no_tool_says("175")),
    Case("no tool", ["At how many degrees Celsius does water boil at sea level?"], no_tool_says("100")),
    Case("no tool", ["Who was the first person to walk on the Moon?"], no_tool_says("armstrong")),
    Case("escalation", ["Your bot is useless; I demand a supervisor."], first_call("call_human")),
    Case("escalation", ["Can a member of your team phone me tomorrow?"], first_call("call_human")),
    Case("escalation", ["I'd like a human operator on the line."], first_call("call_human")),
    Case("grounded", ["How many points do I need for a voucher?"], grounded("500")),
    Case("grounded", ["What is a loyalty voucher worth?"], grounded("10")),
    Case("grounded", ["How many loyalty points do I get for each euro I spend?"], grounded("2")),
    Case("I do not know", ["Do loyalty points expire?"], does_not_know(r"(?i)\byes\b|\d+ (?:day|week|month|year)")),
    Case("I do not know", ["How many chargers for electric cars are in the staff garage?"], does_not_know(r"\d")),
    Case("I do not know", ["Can I pay for my order with PayPal?"], does_not_know(r"(?i)\byes\b")),
    Case("format", ["One word: what is the opposite of early?"], exactly("late")),
    Case("format", ["Only the number, please: how many zeros are in one thousand?"], exactly("3")),
    Case("format", ["Yes or no: can penguins fly?"], exactly("no")),
    Case("memory", ["My cousin plays the cello.", "Which instrument does my cousin play?"], remembers("cello")),
    Case("memory", ["My grandmother turns 90 on Sunday.", "How old will my grandmother be on Sunday?"], remembers("90")),
    Case("memory", ["My ticket number is ZT-3380.", "What's my ticket number?"], remembers("ZT-3380")),
]


FRESH_21 = [
    Case("tool choice", ["A shelf in the stockroom has collapsed, can you open a task?"], first_call("create_task")),
    Case("tool choice", ["What does the knowledge base tell me about click and collect?"],
         first_call("search_knowledge")),
    Case("tool choice", ["Please record a task: the receipt printer keeps jamming."], first_call("create_task")),
    Case("exact arguments", ["Create a high priority task titled 'Call the insurance company'."],
         first_call("create_task", title="Call the insurance company", priority="high")),
    Case("exact arguments", ["Search the knowledge base for: collection time limit"],
         first_call("search_knowledge", query="collection time limit")),
    Case("exact arguments", ["Add a medium priority task named 'Update the opening hours sign'."],
         first_call("create_task", title="Update the opening hours sign", priority="medium")),
    Case("no tool", ["If I have 120 apples and give away 45, how many are left?"], no_tool_says("75")),
    Case("no tool", ["Which is the longest river in Africa?"], no_tool_says("nile")),
    Case("no tool", ["Who discovered penicillin?"], no_tool_says("fleming")),
    Case("escalation", ["Can a real human call me about my refund?"], first_call("call_human")),
    Case("escalation", ["I'd prefer to chat with an actual person."], first_call("call_human")),
    Case("escalation", ["Please escalate this to your supervisor."], first_call("call_human")),
    Case("grounded", ["How soon after the confirmation email can I collect my order?"], grounded("2")),
    Case("grounded", ["How long do you keep an order that nobody collects?"], grounded("7")),
    Case("grounded", ["Where do I pick up a click and collect order?"], grounded("checkout")),
    Case("I do not know", ["Can a friend collect my order for me?"], does_not_know(r"(?i)\byes\b")),
    Case("I do not know", ["Is there a charge for click and collect?"], does_not_know(r"(?i)^yes|\d+ euro")),
    Case("I do not know", ["What is the phone number of your parts desk?"], does_not_know(r"\d{3}")),
    Case("format", ["One word only: what do caterpillars turn into?"], exactly("butterfly", "butterflies")),
    Case("format", ["Only the number: at how many degrees Fahrenheit does water boil?"], exactly("212")),
    Case("format", ["Yes or no: do fish breathe through gills?"], exactly("yes")),
    Case("memory", ["My flatmate Dagny drives a tram.", "What does Dagny drive?"], remembers("tram")),
    Case("memory", ["The kettle I bought from you last week is blue.", "What colour is my kettle?"],
         remembers("blue")),
    Case("memory", ["My seat on the train is 14B.", "Which seat do I have on the train?"], remembers("14b")),
]


FRESH_22 = [
    Case("tool choice", ["Somebody spilled coffee on the showroom carpet; please log a task to clean it."],
         first_call("create_task")),
    Case("tool choice", ["Is there anything in your knowledge base on extended warranties?"],
         first_call("search_knowledge")),
    Case("tool choice", ["Add a to-do for the team: replace the batteries in the door sensor."],
         first_call("create_task")),
    Case("exact arguments", ["Create a low priority task titled 'Archive last year's invoices'."],
         first_call("create_task", title="Archive last year's invoices", priority="low")),
    Case("exact arguments", ["Search the knowledge base for: three more years of cover"],
         first_call("search_knowledge", query="three more years of cover")),
    Case("exact arguments", ["Please make a high priority task named 'Reset the router'."],
         first_call("create_task", title="Reset the router", priority="high")),
    Case("no tool", ["What is 13 squared?"], no_tool_says("169")),
    Case("no tool", ["Which planet has the most famous rings?"], no_tool_says("saturn")),
    Case("no tool", ["In which country are the pyramids of Giza?"], no_tool_says("egypt")),
    Case("escalation", ["Could someone from your support team give me a call?"], first_call("call_human")),
    Case("escalation", ["I don't want to talk to a machine, get me a person."], first_call("call_human")),
    Case("escalation", ["Is there a human on your side who could take this over?"], first_call("call_human")),
    Case("grounded", ["How many extra years does the extended warranty add?"], grounded("4")),
    Case("grounded", ["What does an extended warranty cost?"], grounded("10")),
    Case("grounded", ["Until when can I buy an extended warranty after delivery?"], grounded("60")),
    Case("I do not know", ["Does the extended warranty cover accidental damage?"], does_not_know(r"(?i)\byes\b")),
    Case("I do not know", ["Can I transfer my extended warranty to a new owner?"], does_not_know(r"(?i)\byes\b")),
    Case("I do not know", ["Which insurer underwrites your extended warranties?"],
         does_not_know(r"[A-Z][a-z]+ (?:Insurance|Assurance|Group)")),
    Case("format", ["Answer in one word: what is the young of a sheep called?"], exactly("lamb")),
    Case("format", ["Just give the number: how many weeks are in a year?"], exactly("52")),
    Case("format", ["Yes or no only: is a tomato a fruit?"], exactly("yes")),
    Case("memory", ["My cat Miso is eleven years old.", "How old is Miso?"], remembers("11")),
    Case("memory", ["I teach chemistry at a secondary school.", "Which subject do I teach?"], remembers("chemistry")),
    Case("memory", ["My favourite football club is Benfica.", "Which club do I support?"], remembers("benfica")),
]


FRESH_23 = [
    Case("tool choice", ["The staff toilet on the first floor is blocked; raise a task, please."],
         first_call("create_task")),
    Case("tool choice", ["Find what the knowledge base says about appliance rental."], first_call("search_knowledge")),
    Case("tool choice", ["We need to order more printer ink; put that on the task list."], first_call("create_task")),
    Case("exact arguments", ["Create a medium priority task titled 'Label the storage boxes'."],
         first_call("create_task", title="Label the storage boxes", priority="medium")),
    Case("exact arguments", ["Search the knowledge base for: monthly rental price"],
         first_call("search_knowledge", query="monthly rental price")),
    Case("exact arguments", ["Add a low priority task called 'Tidy the meeting room'."],
         first_call("create_task", title="Tidy the meeting room", priority="low")),
    Case("no tool", ["What is 45 plus 38?"], no_tool_says("83")),
    Case("no tool", ["Which animal is known as the ship of the desert?"], no_tool_says("camel")),
    Case("no tool", ["What is the chemical formula of water?"], no_tool_says("h2o")),
    Case("escalation", ["Is there any chance of talking this through with an employee?"], first_call("call_human")),
    Case("escalation", ["Get a manager to contact me about this order."], first_call("call_human")),
    Case("escalation", ["This chat isn't working for me; I'd like to talk to someone."], first_call("call_human")),
    Case("grounded", ["What is the minimum rental period for an appliance?"], grounded("6")),
    Case("grounded", ["How much does it cost per month to rent a washing machine?"], grounded("19")),
    Case("grounded", ["What happens to repairs on a rented appliance?"], grounded("free")),
    Case("I do not know", ["Can I buy the washing machine at the end of the rental?"], does_not_know(r"(?i)\byes\b")),
    Case("I do not know", ["Do you rent out dishwashers as well?"], does_not_know(r"(?i)\byes\b")),
    Case("I do not know", ["What deposit do I pay to rent an appliance?"], does_not_know(r"\d")),
    Case("format", ["In one word: what is the largest mammal in the sea?"], exactly("whale", "blue whale")),
    Case("format", ["Give the number only: how many players are in a basketball team on court?"], exactly("5")),
    Case("format", ["Yes or no: is ice lighter than liquid water?"], exactly("yes")),
    Case("memory", ["My son's school is called Riverside Academy.", "What is my son's school called?"],
         remembers("riverside")),
    Case("memory", ["My blood type is O negative.", "What is my blood type?"], remembers("o negative")),
    Case("memory", ["My holiday starts on 14 July.", "When does my holiday start?"], remembers("14", "july")),
]


FRESH_24 = [
    Case("tool choice", ["The coffee machine in the break room is leaking; create a task for facilities."],
         first_call("create_task")),
    Case("tool choice", ["Check the knowledge base for anything on gift wrapping."], first_call("search_knowledge")),
    Case("tool choice", ["Someone should restock the first-aid kit; log it as a task."], first_call("create_task")),
    Case("exact arguments", ["Make a task with high priority: 'Order a spare projector bulb'."],
         first_call("create_task", title="Order a spare projector bulb", priority="high")),
    Case("exact arguments", ["Look up 'handwritten card' in the knowledge base."],
         first_call("search_knowledge", query="handwritten card")),
    Case("exact arguments", ["New task, medium priority: 'Clean the shop windows'."],
         first_call("create_task", title="Clean the shop windows", priority="medium")),
    Case("no tool", ["What is 17 plus 26?"], no_tool_says("43")),
    Case("no tool", ["What is 15 percent of 200?"], no_tool_says("30")),
    Case("no tool", ["In which country is the city of Kyoto?"], no_tool_says("japan")),
    Case("escalation", ["Can somebody from your team take over this conversation?"], first_call("call_human")),
    Case("escalation", ["I need to speak with your team lead."], first_call("call_human")),
    Case("escalation", ["Is a human agent available to chat with me?"], first_call("call_human")),
    Case("grounded", ["How much is gift wrapping per item?"], grounded("4")),
    Case("grounded", ["Is a handwritten card extra?"], grounded("free")),
    Case("grounded", ["How late can I add gift wrapping to my order?"], grounded("2")),
    Case("I do not know", ["Do you offer gift wrapping in different colours?"], does_not_know(r"(?i)\byes\b")),
    Case("I do not know", ["Can you send a wrapped gift straight to another address?"], does_not_know(r"(?i)\byes\b")),
    Case("I do not know", ["How many words can the message on the card have?"], does_not_know(r"\d")),
    Case("format", ["One word only: what is a young horse called?"], exactly("foal")),
    Case("format", ["Reply with just the number: how many strings does a violin have?"], exactly("4")),
    Case("format", ["Yes or no: do penguins live at the North Pole?"], exactly("no")),
    Case("memory", ["My favourite author is Saramago.", "Who is my favourite author?"], remembers("saramago")),
    Case("memory", ["I have an appointment with Dr Costa on Wednesday.", "Which doctor am I seeing?"],
         remembers("costa")),
    Case("memory", ["My library card number is 60418.", "What is my library card number?"], remembers("60418")),
]


FRESH_25 = [
    Case("tool choice", ["The lift to the second floor is out of order again; open a task."],
         first_call("create_task")),
    Case("tool choice", ["What does your knowledge base say about engraving?"], first_call("search_knowledge")),
    Case("tool choice", ["Log a task: the shutter of the shop door is stuck halfway."], first_call("create_task")),
    Case("exact arguments", ["Create a low priority task titled 'Check the smoke detectors'."],
         first_call("create_task", title="Check the smoke detectors", priority="low")),
    Case("exact arguments", ["Search the knowledge base for: engraving price"],
         first_call("search_knowledge", query="engraving price")),
    Case("exact arguments", ["Add a task 'Repaint the loading bay lines' with high priority."],
         first_call("create_task", title="Repaint the loading bay lines", priority="high")),
    Case("no tool", ["What is 81 minus 27?"], no_tool_says("54")),
    Case("no tool", ["Which organ pumps blood around the body?"], no_tool_says("heart")),
    Case("no tool", ["What is 250 plus 175?"], no_tool_says("425")),
    Case("escalation", ["Please find me someone from the shop who can sort this out."], first_call("call_human")),
    Case("escalation", ["Can your supervisor call me this afternoon?"], first_call("call_human")),
    Case("escalation", ["Let me talk to one of your people, please."], first_call("call_human")),
    Case("grounded", ["How many characters can be engraved on a knife?"], grounded("20")),
    Case("grounded", ["What does it cost to have a chef's knife engraved?"], grounded("9")),
    Case("grounded", ["Can I return an engraved knife?"], grounded("not")),
    Case("I do not know", ["Can you engrave a Kettle Pro too?"], does_not_know(r"(?i)\byes\b")),
    Case("I do not know", ["Which fonts can I choose for the engraving?"],
         does_not_know(r"(?i)arial|times|helvetica|serif|script")),
    Case("I do not know", ["How long does the engraving take?"], does_not_know(r"\d")),
    Case("format", ["Answer with one word: what is the opposite of 'empty'?"], exactly("full")),
    Case("format", ["Only the number, please: how many planets are in our solar system?"], exactly("8")),
    Case("format", ["Yes or no: is Lisbon the capital of Portugal?"], exactly("yes")),
    Case("memory", ["My favourite board game is Catan.", "Which board game do I like most?"], remembers("catan")),
    Case("memory", ["I'm flying to Madeira on Saturday.", "Where am I flying to?"], remembers("madeira")),
    Case("memory", ["My staff badge number is 3307.", "What is my badge number?"], remembers("3307")),
]


# Every set by name, in the order written (`--set all` runs them all in this order).
SETS = {"dev": DEV, "held-out": HELD_OUT, "fresh": FRESH, "fresh-2": FRESH_2, "fresh-3": FRESH_3,
        "fresh-4": FRESH_4, "fresh-5": FRESH_5, "fresh-6": FRESH_6, "fresh-7": FRESH_7, "fresh-8": FRESH_8,
        "fresh-9": FRESH_9, "fresh-10": FRESH_10, "fresh-11": FRESH_11,
        "fresh-12": FRESH_12, "fresh-13": FRESH_13, "fresh-14": FRESH_14,
        "fresh-15": FRESH_15, "fresh-16": FRESH_16, "fresh-17": FRESH_17,
        "fresh-18": FRESH_18, "fresh-19": FRESH_19, "fresh-20": FRESH_20,
        "fresh-21": FRESH_21, "fresh-22": FRESH_22,
        "fresh-23": FRESH_23, "fresh-24": FRESH_24, "fresh-25": FRESH_25}
