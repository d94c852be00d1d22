"""Words the ``_unknown_`` class is made of: what a keyword spotter hears when no keyword is said.

The 35 words of Speech Commands, a few hundred everyday English words, and near-misses of common
keywords (rhymes, shared onsets: "marvel", "martin", "yet", "know", "cup"), which are what a
spotter confuses first. The keywords of a data set are taken out of the list when it is made.
"""

from __future__ import annotations

SPEECH_COMMANDS = (
    "backward", "bed", "bird", "cat", "dog", "down", "eight", "five", "follow", "forward", "four", "go",
    "happy", "house", "learn", "left", "marvin", "nine", "no", "off", "on", "one", "right", "seven",
    "sheila", "six", "stop", "three", "tree", "two", "up", "visual", "wow", "yes", "zero",
)  # fmt: skip

NEAR_MISSES = (
    "marvel", "martin", "marching", "carving", "starving", "margin", "harvest", "garden", "marlin", "mark",
    "yet", "yeah", "yell", "chess", "guess", "less", "mess", "yesterday", "yellow", "dress", "bless",
    "know", "nose", "snow", "now", "note", "slow", "new", "nod", "noon", "though",
    "cup", "pup", "app", "upper", "hop", "top", "puppy", "us", "sup", "oops",
    "town", "brown", "gown", "clown", "crown", "drown", "dawn", "round",
    "lift", "theft", "leaf", "laughed", "loft", "felt",
    "write", "bright", "night", "light", "ride", "fright", "rice", "white",
    "own", "an", "in", "gone", "john", "under",
    "of", "cough", "often", "awful", "soft",
    "shop", "stock", "step", "stomp", "spot",
    "goal", "grow", "ghost", "gold", "good",
)  # fmt: skip

EVERYDAY = (
    "about", "after", "again", "air", "all", "always", "and", "animal", "answer", "apple", "are", "around",
    "ask", "away", "baby", "back", "bad", "ball", "banana", "because", "before", "begin", "behind", "best",
    "better", "big", "black", "blue", "boat", "body", "book", "both", "box", "boy", "bread", "breakfast",
    "bring", "brother", "build", "bus", "busy", "but", "butter", "buy", "by", "call", "came", "can", "car",
    "card", "care", "carry", "chair", "change", "child", "city", "class", "clean", "clock", "close",
    "cold", "color", "come", "computer", "cook", "cool", "could", "country", "cut", "dance", "dark",
    "day", "dear", "did", "dinner", "do", "does", "door", "draw", "drink", "drive", "early", "earth",
    "easy", "eat", "egg", "end", "enough", "even", "evening", "every", "eye", "face", "fall", "family",
    "far", "farm", "fast", "father", "find", "fine", "fire", "first", "fish", "floor", "flower", "fly",
    "food", "foot", "for", "friend", "from", "full", "fun", "funny", "game", "get", "girl", "give", "glass",
    "green", "ground", "group", "had", "hair", "half", "hand", "hard", "has", "have", "he", "head",
    "hear", "heart", "hello", "help", "her", "here", "high", "hill", "him", "his", "hold", "home", "hope",
    "horse", "hot", "hour", "how", "hungry", "idea", "into", "is", "it", "jump", "just", "keep", "kind",
    "king", "kitchen", "know", "lady", "land", "large", "last", "late", "laugh", "lemon", "letter", "like",
    "line", "listen", "little", "live", "long", "look", "lot", "love", "lunch", "made", "make", "man",
    "many", "may", "me", "milk", "minute", "money", "moon", "more", "morning", "most", "mother", "move",
    "much", "music", "must", "my", "name", "near", "need", "never", "next", "nice", "nothing", "number",
    "ocean", "old", "only", "open", "or", "orange", "other", "our", "out", "over", "page", "paper", "park",
    "part", "party", "pencil", "people", "phone", "picture", "piece", "place", "plant", "play", "please",
    "point", "pretty", "problem", "pull", "purple", "push", "put", "question", "quick", "quiet", "rain",
    "read", "ready", "red", "remember", "rest", "river", "road", "rock", "room", "run", "sad", "said",
    "same", "say", "school", "sea", "second", "see", "seem", "sell", "send", "she", "ship", "short",
    "should", "show", "side", "sing", "sister", "sit", "sleep", "small", "smile", "so", "some", "song",
    "soon", "sorry", "sound", "speak", "spring", "stand", "star", "start", "still", "story", "street",
    "strong", "student", "study", "summer", "sun", "sure", "table", "take", "talk", "teacher", "tell",
    "ten", "than", "thank", "that", "the", "their", "them", "then", "there", "these", "they", "thing",
    "think", "this", "time", "today", "together", "tomorrow", "too", "toy", "train", "turn", "very",
    "wait", "walk", "want", "warm", "was", "watch", "water", "way", "we", "weather", "week", "well",
    "went", "were", "what", "when", "where", "which", "while", "who", "why", "will", "wind", "window",
    "winter", "wish", "with", "woman", "wonder", "word", "work", "world", "would", "year", "you", "young",
)  # fmt: skip


def unknown_words(keywords: list[str] | tuple[str, ...]) -> list[str]:
    """Every listed word that is not a keyword (sorted, no duplicates)."""
    taken = {k.lower() for k in keywords}
    return sorted({w for w in (*SPEECH_COMMANDS, *NEAR_MISSES, *EVERYDAY) if w not in taken})
