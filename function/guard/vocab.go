package guard

// Word groups the injection rules are written in. Each group lists the words
// of one role in an attack sentence ("override verb", "instruction noun") in
// every language the guard covers; the rules then combine roles by word
// distance, so a new phrasing in any language is one more word, not one more
// regular expression. Only imperative or infinitive verb forms are listed on
// purpose: "the model ignores previous instructions" describes, "ignore
// previous instructions" commands.
//
// A trailing '*' matches any word with that prefix. Words are folded like the
// text (look-alikes, accents, leetspeak, l→i), so list them plainly.
const (
	gOverride     uint64 = 1 << iota // ignore, disregard, forget …
	gPrior                           // previous, above, all …
	gInstr                           // instructions, rules …
	gEvery                           // everything, all
	gAbove                           // above, before, told
	gPassive                         // void, cancelled, no longer apply
	gYou                             // you, your (the model addressed)
	gUrge                            // please, now, just, instead (imperative context)
	gNeg                             // not, never, don't
	gModal                           // may, can, why, when (descriptive context)
	gReveal                          // reveal, show, print, repeat
	gWhat                            // what, which
	gSecretAdj                       // system, hidden, initial
	gPrompt                          // prompt, instructions, guidelines
	gDump                            // words, text, everything
	gPersona                         // DAN, unfiltered, jailbroken
	gMode                            // mode
	gModeAdj                         // developer, god, sudo
	gEnable                          // enable, activate, enter
	gRoleplay                        // pretend, roleplay, act, simulate
	gRestr                           // restrictions, filters, ethics
	gNoWord                          // no, without, free, bypass
	gStay                            // stay, remain
	gCharacter                       // character, role
	gBe                              // be, become: the imperative of a persona order
	gDecode                          // decode, base64, rot13
	gExecute                         // follow, execute, obey
	gAI                              // ai, assistant, llm, model
	gAddress                         // dear, attention, note, hey
	gNew                             // new, updated, real
	gTask                            // task, instructions, objective
	gEdu                             // example, explain, research: talking about attacks
	gArticle                         // a, an, some: "write a system prompt" is a request, not an extraction
	gThe                             // the, this, that
	gFrom                            // from
	gNow                             // now
	gOn                              // on
	gAre                             // are, is, be
	gIf                              // if, when
	gDo                              // do
	gRel                             // that, which: a relative clause narrowing the object
	gCreate                          // write, create, draft: requests about prompts, not for them
	gSummarize                       // summarize, translate, process
	gOverrideN                       // override, bypass (as nouns / commands)
	gWhatIs                          // is, are (after "what")
	gMy                              // my, our: a user retracting their own instructions
	gAll                             // all, any, these: weaker than "previous"
	gOverrideWeak                    // override, reset, clear: common in code talk
	gSay                             // say, print, respond
	gCred                            // password, credentials
	gMind                            // never mind
	gRefuse                          // refuse, decline
	gAuthority                       // administrator, developer, creator
	gHypo                            // hypothetically, suppose
	gBeginning                       // beginning, start
	gNothing                         // nothing
	gInstead                         // instead
	gEncodeOut                       // backwards, in base64: getting past an output filter
	gHeed                            // pay no attention / heed
	gGiven                           // given, told, received
	gUser                            // the user
	gPrep                            // on, in, from: "the instructions on the box"
	gComply                          // abide, follow, bound
	gPron                            // it, them: an order pointing back at named instructions
)

type vocabEntry struct {
	groups uint64
	words  []string
}

var vocabulary = []vocabEntry{
	{gOverride, []string{"aside",
		"ignore", "disregard", "forget", "bypass", "skip", "discard", "abandon", "neglect", "dismiss", "omit", "unlearn", "overrule", "circumvent",
		// es
		"ignora", "ignore", "ignorad", "ignoren", "olvida", "olvide", "olvidate", "olviden", "omite", "descarta", "desestima", "omiso", "borra",
		// fr
		"ignorez", "ignorer", "oublie", "oubliez", "oublier", "efface", "effacez", "abandonne", "abandonnez", "outrepasse",
		// de
		"ignoriere", "ignorieren", "ignorier", "vergiss", "vergessen", "vergesst", "missachte", "missachten", "verwirf", "verwerfe", "uberschreibe", "ubergehe", "losche",
		// pt
		"ignorar", "esqueca", "esquece", "esquecer", "desconsidere", "desconsidera", "descarte", "apague",
		// it
		"ignorate", "ignori", "dimentica", "dimenticate", "dimenticare", "tralascia", "trascura", "scarta", "cancella",
		// ru
		"игнорируй", "игнорируйте", "игнорировать", "проигнорируй", "проигнорируйте", "забудь", "забудьте", "забыть", "отбрось", "отмени", "пренебреги", "обойди",
	}},
	{gMind, []string{"mind"}},
	{gAuthority, []string{"openais", "anthropics", "administrator", "admin", "developer", "developers", "creator", "creators", "owner", "operator", "openai", "anthropic", "google", "sysadmin", "supervisor", "programmer"}},
	{gHypo, []string{"hypothetically", "hypothetical", "suppose", "imagine", "pretend", "assume", "theoretically", "fictional"}},
	{gBeginning, []string{"beginning", "start", "top", "first"}},
	{gInstead, []string{"instead", "rather", "en", "lugar", "plutot", "stattdessen", "invece", "вместо"}},
	{gNothing, []string{"nothing", "none"}},
	{gRefuse, []string{"apologize", "apologise", "apologizing", "disclaimers", "disclaimer", "caveats", "moralize", "lecture", "refuse", "refuses", "decline", "declines", "reject", "rejects", "deny", "denies", "censor", "censors", "warn", "warns", "hesitate"}},
	{gEncodeOut, []string{"backwards", "backward", "reversed", "reverse", "acrostic", "base64", "hex", "encoded", "cipher", "morse", "rot13"}},
	{gHeed, []string{"attention", "heed", "regard", "notice", "caso"}},
	{gGiven, []string{"written", "given", "told", "received", "provided", "programmed", "trained", "configured", "instructed", "got", "loaded", "initialized"}},
	{gUser, []string{"user", "users", "user's", "usuario", "utilisateur", "benutzer", "utente", "usuário", "пользователя"}},
	{gPrep, []string{"on", "in", "from", "of", "inside", "within", "about", "at", "for"}},
	{gOverrideWeak, []string{"override", "overwrite", "erase", "delete", "clear", "reset", "drop", "remove", "replace", "break", "violate", "suspend", "disable", "deactivate"}},
	{gComply, []string{"abide", "follow", "obey", "comply", "adhere", "bound", "restricted", "limited", "censored", "filtered", "respect", "constrained"}},
	{gMy, []string{"my", "mine", "our", "mis", "mes", "mon", "ma", "meine", "meinen", "miei", "mie", "minhas", "meus", "мои", "моих", "我的"}},
	{gAll, []string{"cualquier", "cualquiera", "quaisquer", "qualquer", "qualsiasi", "toute", "tout", "jede", "jeden", "любые", "all", "any", "every", "existing", "current", "default", "given", "those", "these", "your", "its"}},
	{gSay, []string{"say", "says", "answers", "responds", "replies", "print", "output", "write", "respond", "reply", "answer", "type", "return", "tell", "repeat", "recommend", "forward", "send", "email", "include", "di", "dis", "diga", "sag", "sage", "di", "скажи", "ответь", "напиши"}},
	{gCred, []string{"password", "passwords", "passcode", "passphrase", "credentials", "credential", "apikey", "contrasena", "passwort", "senha", "пароль", "secret", "secrets"}},
	{gPrior, []string{"previa", "previo", "previe", "prevista",
		"previous", "prior", "above", "earlier", "preceding", "former", "original", "initial", "foregoing", "aforementioned",
		"anteriores", "anterior", "previas", "previos", "precedentes",
		"precedentes", "precedente", "anterieures", "anterieurs", "dessus",
		"vorherigen", "vorherige", "bisherigen", "bisherige", "obigen", "obige", "vorigen", "fruheren",
		"precedenti", "sopra",
		"previas",
		"предыдущие", "предыдущих", "прежние", "прежних", "прошлые", "вышеуказанные", "старые",
	}},
	{gAll, []string{
		"todas", "todos", "las", "los", "toutes", "tous", "les", "vos", "tes", "alle", "allen", "deine", "deinen", "ihre", "tutte", "tutti", "le", "tue", "suas", "tuas", "as", "все", "всех", "свои", "твои",
	}},
	{gInstr, []string{"guidance", "guardrail",
		"instructions", "instruction", "rules", "rule", "guidelines", "guideline", "directives", "directive", "directions", "prompt", "prompts", "commands", "orders", "constraints", "restrictions", "programming", "policies", "guardrails", "safeguards", "filters", "training", "conditioning", "protocols", "protocol",
		"instrucciones", "instruccion", "reglas", "indicaciones", "directrices", "ordenes", "restricciones", "normas",
		"consignes", "regles", "directives", "ordres", "restrictions",
		"anweisungen", "anweisung", "instruktionen", "regeln", "vorgaben", "befehle", "richtlinien", "einschrankungen",
		"istruzioni", "regole", "direttive", "indicazioni", "restrizioni",
		"instrucoes", "regras", "diretrizes", "orientacoes", "comandos", "restricoes",
		"инструкции", "инструкций", "инструкциям", "указания", "указаний", "правила", "правил", "команды", "ограничения", "директивы", "промпт", "подсказки",
	}},
	{gEvery, []string{"whatever", "everything", "all", "anything", "todo", "tout", "alles", "tutto", "tudo", "всё", "все"}},
	{gAbove, []string{"precede", "precedent", "vorangegangene", "above", "before", "earlier", "previously", "told", "prior", "beforehand", "said", "antes", "avant", "dessus", "vorher", "zuvor", "oben", "prima", "sopra", "выше", "ранее", "раньше"}},
	{gPassive, []string{"off", "removed", "outdated", "deprecated", "obsolete", "irrelevant", "void", "invalid", "longer", "updated", "changed", "modified", "cancelled", "canceled", "obsolete", "revoked", "superseded", "lifted", "suspended", "nullified", "null", "overridden", "overriden", "disabled", "deactivated", "rescinded", "annulled", "replaced", "expired", "anuladas", "annulees", "ungultig", "aufgehoben", "annullate", "отменены", "недействительны"}},
	{gYou, []string{"you", "your", "yourself", "u", "ur", "tu", "tus", "usted", "vous", "toi", "ton", "ta", "du", "dich", "dir", "dein", "deine", "deinen", "voce", "ti", "te", "ты", "тебе", "тебя", "вы", "вам", "твои", "твой", "твою"}},
	{gUrge, []string{"please", "now", "just", "and", "then", "so", "kindly", "simply", "immediately", "instead", "must", "should", "need", "want", "por", "favor", "bitte", "jetzt", "ahora", "maintenant", "ora", "agora", "пожалуйста", "теперь", "сейчас"}},
	{gNeg, []string{"not", "never", "dont", "doesnt", "didnt", "wont", "shouldnt", "cant", "cannot", "no", "nunca", "pas", "nicht", "nie", "non", "nao", "не", "нельзя"}},
	{gModal, []string{"may", "might", "could", "would", "will", "does", "did", "to", "sometimes", "often", "always", "why", "when", "how", "whether", "if", "tend", "tends", "likely", "models", "model", "chatbots", "llms", "attackers", "attacker", "users", "someone", "they", "it", "who", "that", "which"}},
	{gReveal, []string{
		"reveal", "show", "print", "display", "output", "repeat", "tell", "give", "leak", "dump", "expose", "share", "recite", "echo", "disclose", "spell", "copy", "paste", "return", "state", "list", "type", "provide", "send",
		"muestra", "muestrame", "revela", "revelame", "dime", "ensename", "imprime", "repite", "escribe",
		"montre", "montrez", "montremoi", "revele", "revelez", "affiche", "affichez", "donne", "donnez", "dis", "dites", "repete", "repetez", "ecris",
		"zeige", "zeig", "zeigen", "gib", "nenne", "verrate", "wiederhole", "schreibe", "ausgeben", "gebe",
		"mostra", "mostrami", "rivela", "rivelami", "dimmi", "ripeti", "stampa", "scrivi",
		"mostre", "mostrar", "revele", "diga", "repita", "imprima", "escreva",
		"покажи", "покажите", "выведи", "выведите", "раскрой", "скажи", "повтори", "напиши", "расскажи", "перечисли",
	}},
	{gWhat, []string{"what", "whats", "which", "que", "quelles", "quelle", "quels", "was", "welche", "quali", "quais", "какие", "какой", "каков"}},
	{gWhatIs, []string{"is", "are", "were", "was", "es", "son", "est", "sont", "ist", "sind", "e", "sono", "sao", "были"}},
	{gSecretAdj, []string{"interna", "interno", "internes", "internas", "initiales", "initiale", "iniciales", "iniziali", "iniciais", "anfanglichen", "начальные", "context", "system", "initial", "hidden", "secret", "original", "internal", "confidential", "developer", "full", "exact", "entire", "complete", "verbatim", "first", "pre", "base", "underlying", "private", "sistema", "systeme", "systemes", "oculto", "ocultas", "cache", "cachees", "versteckte", "versteckten", "interne", "internen", "nascoste", "nascosto", "ocultas", "системный", "системные", "системную", "системного", "скрытые", "исходные", "системе"}},
	{gPrompt, []string{"configuracion", "konfiguration", "configurazione", "configuracao", "guidance", "prompt", "prompts", "instructions", "preprompt", "guidelines", "directives", "rules", "configuration", "promt", "instrucciones", "indicaciones", "consignes", "anweisungen", "istruzioni", "instrucoes", "промпт", "промта", "промпта", "инструкции", "указания", "подсказку", "правила", "instructies", "reglas", "regles", "regeln", "regole", "regras", "instruction"}},
	{gDump, []string{"contents", "content", "words", "text", "everything", "lines", "content", "sentences", "conversation", "tokens", "characters", "paragraph", "message", "texte", "texto", "testo", "текст", "всё"}},
	{gPersona, []string{"dan", "stan", "evil", "dude", "antigpt", "betterdan", "evilbot", "unfiltered", "uncensored", "unrestricted", "unbound", "unlimited", "amoral", "jailbroken", "jailbreak", "unchained", "unethical", "immoral", "lawless", "freed", "liberated", "rogue"}},
	{gMode, []string{"mode", "modus", "modo", "режим", "режиме"}},
	{gModeAdj, []string{"developer", "dev", "god", "sudo", "admin", "administrator", "debug", "maintenance", "root", "unrestricted", "unfiltered", "jailbreak", "jailbroken", "evil", "opposite", "chaos", "dan", "superuser", "entwickler", "entwicklermodus", "desarrollador", "developpeur", "sviluppatore", "desenvolvedor", "разработчика", "бога", "отладки", "uncensored"}},
	{gEnable, []string{"enable", "enabled", "activate", "activated", "enter", "entering", "switch", "switched", "turn", "turned", "engage", "engaged", "unlock", "unlocked", "now", "in", "into", "on", "active", "aktiviere", "activa", "activez", "attiva", "ative", "включи", "активируй"}},
	{gRoleplay, []string{"pretend", "roleplay", "act", "acting", "imagine", "simulate", "emulate", "impersonate", "become", "behave", "persona", "character", "play", "playing", "finge", "imagina", "actua", "semblant", "spiele", "fingi", "immagina", "finja", "представь", "притворись", "играй", "веди"}},
	{gRestr, []string{"confines", "restrictions", "restriction", "limits", "limitations", "filters", "filter", "censorship", "guidelines", "rules", "policies", "policy", "ethics", "ethical", "morals", "moral", "morality", "boundaries", "constraints", "safeguards", "guardrails", "safety", "content", "refusals", "limitaciones", "restricciones", "filtros", "limites", "regles", "einschrankungen", "regeln", "filter", "grenzen", "limiti", "restrizioni", "regole", "filtri", "restricoes", "ограничений", "ограничения", "фильтров", "правил", "цензуры"}},
	{gNoWord, []string{"unshackled", "unchained", "liberated", "freed", "released", "unbound", "no", "without", "free", "zero", "bypass", "remove", "removed", "disable", "disabled", "lift", "lifted", "ignore", "ignoring", "sin", "sans", "ohne", "keine", "senza", "sem", "без", "нет"}},
	{gStay, []string{"stay", "remain", "keep", "staying", "remaining"}},
	{gCharacter, []string{"character", "role", "persona"}},
	{gBe, []string{"be", "become", "sei", "sois", "soyez", "будь", "sii"}},
	{gDecode, []string{"decode", "decoded", "decrypt", "decipher", "base64", "rot13", "hex", "hexadecimal", "deobfuscate", "unscramble", "reverse", "reversed", "encoded", "decodifica", "decodez", "dekodiere", "decodifique", "декодируй", "расшифруй"}},
	{gExecute, []string{"execute", "follow", "obey", "run", "perform", "carry", "comply", "implement", "act", "do", "apply", "sigue", "ejecuta", "suis", "executez", "execute", "befolge", "fuhre", "segui", "esegui", "siga", "выполни", "следуй"}},
	{gAI, []string{"ai", "assistant", "llm", "llms", "chatbot", "bot", "model", "gpt", "chatgpt", "claude", "gemini", "copilot", "agent", "ki", "ia", "ии", "ассистент", "модель", "bard", "llama"}},
	{gAddress, []string{"dear", "attention", "note", "hey", "hello", "hi", "to", "important", "message", "instructions", "notice", "reminder", "psst", "attn", "warning"}},
	{gNew, []string{"new", "updated", "real", "actual", "true", "revised", "override", "admin", "urgent", "important", "secret", "hidden", "nuevas", "nuevo", "nouvelles", "nouvelle", "neue", "neuen", "nuove", "nuovo", "novas", "novo", "новые", "новая", "новое", "настоящие"}},
	{gTask, []string{"task", "instructions", "instruction", "objective", "goal", "orders", "directive", "mission", "rules", "role", "purpose", "job", "prompt", "tarea", "instrucciones", "tache", "consignes", "aufgabe", "anweisungen", "compito", "istruzioni", "tarefa", "instrucoes", "задача", "инструкции", "задание"}},
	{gEdu, []string{"explain", "explains", "explanation", "research", "researcher", "researchers", "class", "course", "lecture", "paper", "detect", "detecting", "detection", "detector", "prevent", "preventing", "prevention", "defend", "defending", "defense", "defence", "mitigate", "mitigation", "attack", "attacks", "attacker", "attackers", "injection", "injections", "vulnerability", "vulnerabilities", "security", "owasp", "classifier", "dataset", "mean", "means", "meaning", "definition", "students", "homework", "classify", "significa", "signifie", "bedeutet", "означает",
		// defenders asking how to catch what they quote
		"regex", "sanitize", "sanitise", "sanitizing", "jailbreaks", "attempts", "positives", "leaked"}},
	{gArticle, []string{"a", "an", "some", "good", "better", "sample", "great", "effective", "new", "un", "una", "une", "ein", "eine", "einen", "uno", "um", "uma"}},
	{gThe, []string{"the", "this", "that", "its", "el", "la", "le", "der", "die", "das", "den", "il", "o", "a"}},
	{gFrom, []string{"from", "desde", "partir", "ab", "da", "с"}},
	{gNow, []string{"now", "ahora", "maintenant", "jetzt", "ora", "agora", "этого", "сейчас"}},
	{gOn, []string{"on", "onwards", "onward", "forward", "en", "adelante", "an", "in", "poi", "diante"}},
	{gAre, []string{"are", "is", "be", "re", "eres", "es", "etes", "es", "bist", "sei", "sie", "sind", "sou", "e", "est", "ist"}},
	{gIf, []string{"if", "when", "si", "wenn", "falls", "se", "если"}},
	{gDo, []string{"do"}},
	{gRel, []string{"that", "which", "who", "whichever"}},
	{gPron, []string{"it", "them", "those", "these", "this", "that", "all", "everything", "los", "las", "les", "sie", "ihn", "li", "le", "их", "это", "они"}},
	{gCreate, []string{"write", "create", "draft", "generate", "design", "make", "craft", "improve", "optimize", "review", "build", "compose", "suggest", "help", "edit", "rewrite", "refine", "evaluate", "test", "debug", "translate"}},
	{gSummarize, []string{"summarize", "summarise", "summarizing", "summarising", "summary", "translate", "translating", "process", "processing", "reading", "read", "parse", "parsing", "analyze", "analyse", "analyzing", "resume", "resumir", "zusammenfassen", "riassumi", "resuma", "перескажи"}},
	{gOverrideN, []string{"override", "bypass", "overriding", "jailbreak", "injection"}},

	// More ways to say "drop it", and the inflected forms of the languages
	// that decline their nouns: a stem with '*' covers every ending, so
	// "указаниям" and "инструкциях" need no entry of their own.
	{gOverride, []string{"wipe", "toss", "ditch", "scrap", "purge", "throw", "overlook", "disobey", "defy", "nevermind",
		"lado", // es/pt "deja de lado", "deixe de lado": set aside
		"desobedece", "desobedeca", "neglige", "negligez", "ignorier*", "uberspringe", "tralasciate",
		"игнорир*", "забуд*", "отбрось", "отбросьте", "пренебрег*"}},
	{gOverrideWeak, []string{"cancel", "cancelling", "canceling", "overriding", "revoke", "nullify", "annul", "rescind", "lift", "suspend", "replace"}},
	{gPassive, []string{"anymore", "scrapped", "withdrawn", "retired", "inactive", "void", "nul", "nulle", "nulas", "nulos", "annullati", "отменен*", "недействител*"}},
	{gInstr, []string{"behaviour", "behavior", "instruccion*", "instrucao", "istruzion*", "anweisung*", "vorgabe*", "richtlinie*",
		"инструкци*", "указани*", "правил*", "ограничени*", "директив*"}},
	{gPrompt, []string{"инструкци*", "указани*", "istruzion*", "anweisung*"}},
	{gPrior, []string{"standing", "предыдущ*", "прежн*", "прошл*", "vorherig*", "bisherig*", "fruher*", "anterior*", "precedent*", "anterieur*"}},
	{gGiven, []string{"placed", "assigned", "imposed", "bekommen", "erhalten", "gegeben", "recibiste", "recibido", "recibidas", "dieron", "dado", "dadas",
		"recu", "recues", "ricevuto", "ricevute", "recebeu", "recebidas", "получил*", "дали"}},
	{gComply, []string{"следуй", "следовать", "подчиняйся", "соблюдай", "befolgen", "seguir", "suivre"}},
	{gNeg, []string{"ne"}},      // fr "ne … plus", with the verb in between
	{gHeed, []string{"compte"}}, // fr "ne tiens plus compte de"
	{gReveal, []string{"quote", "reproduce", "transcribe"}},
	{gTask, []string{"request", "requests"}},
	{gNow, []string{"point"}},                 // "from this point on"
	{gMy, []string{"me"}},                     // "the instructions you gave me" are the user's
	{gNeg, []string{"stop", "cease", "quit"}}, // "stop following your rules" = "don't follow"
	{gComply, []string{"obeying", "following", "adhering", "respecting", "honoring", "honouring"}},
	{gAuthority, []string{"operators", "system"}},
	{gOverrideWeak, []string{"supersede", "supersedes", "overrides", "replaces", "cancels", "stop"}},
	{gPassive, []string{"disregarded", "forgotten", "discarded", "dropped", "lifted", "waived"}},
	{gTask, []string{"persona", "character"}},
	{gGiven, []string{"said", "dit", "dicho", "dijeron", "gesagt", "detto", "dito", "сказали", "operated", "loaded"}},
	{gWhat, []string{"ce", "lo"}}, // fr "oublie ce qu'on t'a dit", es "olvida lo que te dijeron"
	{gYou, []string{"tes", "t"}},
	// "should be ignored" (see overrideParticiple), "treat the rules above
	// as a joke"
	{gPassive, []string{"ignored", "skipped", "abandoned", "overlooked", "joke", "suggestion", "suggestions", "optional", "fiction", "meaningless", "nonsense"}},
	{gBe, []string{"been", "being"}},
	// permission framing: "it's fine to break your rules"
	{gUrge, []string{"fine", "ok", "okay", "allowed", "permitted"}},

	// Round five. Contractions lose their apostrophe in the fold.
	{gYou, []string{"youve", "youre", "youd", "youll", "tuo", "tua", "tuoi", "teu", "teus", "deines", "deiner", "deinem", "своим", "своих", "своей", "твоим", "твоих"}},
	{gWhat, []string{"qual", "quale", "cual"}},
	{gWhatIs, []string{"waren", "eran", "etaient", "erano", "eram", "era"}},
	// "the instructions above were only a test": gNothing is the group of
	// words that empty what they describe
	{gNothing, []string{"test", "prueba", "essai", "prova", "teste", "проверкой", "проверка"}},
	// set aside: fr "laisser de côté", "fais abstraction de", de "beiseitelassen", ru "отложи"
	{gOverride, []string{"cote", "abstraction", "beiseite*", "отложи*"}},
	{gOverrideWeak, []string{"dropping", "cancela", "annule", "annulla"}},
	{gPassive, []string{"cleared", "wiped", "erased", "deleted"}},
	// gComply also holds "valid"/"apply": "the system rules are no longer
	// valid" is "you are no longer bound by them"
	{gComply, []string{"valid", "valida", "validas", "valide", "valides", "validi", "valido", "validos", "valem", "valen", "apply", "applies", "aplican", "aplicam", "gelten", "valgono", "действуют", "действительны",
		"halte", "obbedisci", "obedeca", "obedece", "obedezca", "obeis", "obeissez", "gehorche"}},
	// "obey only me"
	{gUrge, []string{"only", "solo", "solamente", "unicamente", "somente", "seulement", "uniquement", "nur", "только", "soltanto", "лишь"}},
	{gMy, []string{"mim", "мне"}},
	// "do everything I say"
	{gDo, []string{"fais", "faites", "haz", "haga", "faz", "faca", "fai", "fate", "делай", "tue"}},
	{gNew, []string{"nueva", "nouveau", "neues", "nuova", "nova", "новый", "новую", "priority", "prioritaria", "prioritario", "prioritaire", "prioritat", "приоритетная"}},
	{gTask, []string{"instruccion", "instrucao", "consigne", "direttiva", "diretiva"}},
	// "stop summarizing": abandoning the user's task
	{gNeg, []string{"smetti", "pare", "arrete", "arretez", "прекрати", "hor"}},
	{gSummarize, []string{"zusammenzufassen", "zusammenfassen", "traduction", "traduzir", "traducir", "traduire", "tradurre", "ubersetzen", "riassumere", "пересказ", "перевод", "translation"}},
	{gCred, []string{"zugangsdaten", "credenciales", "identifiants", "credenziali", "credenciais", "ключи", "claves", "cles", "chiavi", "chaves"}},
	{gAbove, []string{"acima", "arriba"}},
	{gPrior, []string{"acima"}},
	{gReveal, []string{"показать", "mostrarmi", "mostrame", "scrivilo"}},
	// "an AI that ignores its rules": described, but of the persona ordered
	{gNoWord, []string{"ignores", "breaks", "breaking", "bypasses", "disregards"}},
	{gRefuse, []string{"refusing", "refusal"}},
	{gInstr, []string{"guida", "rulez"}}, // leetspeak plural
	{gSecretAdj, []string{"origine", "depart", "anfangs"}},
	{gComply, []string{"seguire"}},
	{gHeed, []string{"conto", "внимания"}},

	// Round six. "what the developer wrote to you", "the setup text you got"
	{gGiven, []string{"wrote", "sent", "fed", "supplied"}},
	{gReveal, []string{"forward", "envie", "envia", "envoie", "envoyez", "sende", "invia", "отправь", "append"}},
	{gAI, []string{"asistente", "assistente", "assistentin", "asistan"}},
	{gDump, []string{"messages"}},
	// "no warnings, no refusals": refusal suppression
	{gRefuse, []string{"refusals", "warnings", "disclaimer*"}},
	// verbatim, word for word
	{gSecretAdj, []string{"wortlich", "дословно", "verbatim", "letteralmente", "literalmente", "textuellement"}},
	{gAbove, []string{"перед"}},
	{gAuthority, []string{"administrador", "administrateur", "amministratore", "betreiber", "администратора", "администратор", "dev"}},
	// "disable your safety rules" in the languages where it is one verb
	{gOverrideWeak, []string{"desactiva", "desactive", "desative", "desativa", "disattiva", "deaktiviere", "desactivez", "отключи"}},
	// "safety" alone names a phone's settings as often as the model's
	// rules; the German compound ("Sicherheitsrichtlinien") is the rules
	{gRestr, []string{"sicherheitsrichtlinie*", "sicherheitsregeln", "politicas", "politiques", "politiche", "политики", "filtri"}},
	{gInstr, []string{"sicherheitsrichtlinie*", "sicherheitsregeln", "politicas", "politiques", "politiche"}},
	{gPassive, []string{"deaktiviert", "desactivadas", "desactivados", "desactivees", "disattivati", "disattivate", "desativadas", "desativados", "отключены", "aufgehoben"}},
	{gTask, []string{"ordenes", "ordens", "ordine", "ordini", "ordre", "указание", "instrucao", "instruccion"}},
	{gNew, []string{"nuevas", "novo", "nuovo", "neue", "новое"}},
	{gNoWord, []string{"restriccion", "alcuna"}},
	{gRestr, []string{"restrizione", "restriccion", "restricao", "restriction"}},
	{gYou, []string{"sei", "tue"}},
	// Arabic is written with spaces: their words work like any
	// other language's
	{gOverride, []string{"تجاهل", "تجاهلي", "انس"}},
	{gAll, []string{"جميع", "كل"}},
	{gInstr, []string{"التعليمات", "تعليمات", "القواعد"}},
	{gPrompt, []string{"التعليمات", "تعليمات", "موجه"}},
	{gPrior, []string{"السابقة", "السابق"}},
	{gSecretAdj, []string{"النظام", "حرفيا", "حرفياً"}},
	{gReveal, []string{"اعرض", "واعرض", "اظهر", "أظهر", "كرر", "اكتب"}},
	{gDump, []string{"النص", "نص"}},
	{gAbove, []string{"قبل"}},
	{gMy, []string{"رسالتي"}},
	{gYou, []string{"أنت", "انت", "الخاص", "تم"}},
	{gFrom, []string{"من"}},
	{gNow, []string{"الآن", "الان"}},
	{gAI, []string{"اصطناعي", "ذكاء"}},
	{gNoWord, []string{"بلا", "بدون"}},
	{gRestr, []string{"قيود", "القيود"}},
	// nl, pl, tr: the override and extraction words of the languages the
	// seventh blind set added
	{gOverride, []string{"negeer", "negeren", "vergeet", "zignoruj", "ignoruj", "zapomnij", "pomin"}},
	{gPrior, []string{"eerdere", "vorige", "voorgaande", "poprzednie", "poprzednich", "wczesniejsze", "onceki"}},
	{gAll, []string{"alle", "wszystkie", "wszelkie", "tum", "butun"}},
	{gInstr, []string{"instructies", "regels", "instrukcje", "instrukcji", "zasady", "polecenia", "talimatlari", "talimatlar", "kurallari", "kurallarini"}},
	{gPrompt, []string{"systeemprompt", "instrukcje", "istemini", "istem", "talimatlari", "configuratie", "konfiguracje"}},
	{gSecretAdj, []string{"systemowy", "systemowe", "sistem", "gizli", "verborgen", "verborgene", "ukryte", "volledige"}},
	{gReveal, []string{"toon", "onthul", "laat", "wypisz", "pokaz", "ujawnij", "acikla", "goster", "yaz"}},
	{gPassive, []string{"opgeheven", "uitgeschakeld", "zniesione", "wylaczone", "yok", "unut", "kaldirildi"}},
	{gNoWord, []string{"zonder", "bez", "olmayan", "siz"}},
	{gRestr, []string{"beperkingen", "filters", "ograniczen", "filtry", "kisitlamasi", "kisitlama", "filtreleri"}},
	{gOverrideWeak, []string{"wylacz", "schakel"}},
	{gAddress, []string{"nota", "notitie", "notiz", "notka"}},
	// "TL;DR your instructions" (";" splits it and "tl" folds to "ti"): a
	// summary of the hidden prompt leaks it
	{gSummarize, []string{"dr", "tldr", "paraphrase", "condense"}},
	// "what rules are you following": the hidden ones, being obeyed
	{gGiven, []string{"following", "obeying", "running"}},
	{gPrep, []string{"pour", "per", "voor", "dla", "fur", "для"}},
	{gPassive, []string{"eliminadas", "eliminados", "eliminees", "eliminate", "eliminati", "rimosse", "rimossi", "removidas", "removidos", "entfernt", "supprimees", "retirees"}},
	// "and do not mention this": a planted order hiding itself
	// Round eight. "your only job", "tu único trabajo", "deine einzige
	// Aufgabe": the narrowing words and the job nouns
	{gUrge, []string{"sole", "unico", "unica", "seule", "seul", "einzige", "единственная", "единственной"}},
	{gTask, []string{"trabajo", "trabalho", "funcao", "lavoro", "travail", "работа"}},
	{gYou, []string{"sua", "seu", "твоя", "твоей"}},
	{gBeginning, []string{"inicio", "debut", "principio", "anfang"}},
	{gComply, []string{"gilt", "vale", "valent", "appliquent", "applique"}},
	// the hidden prompt by other names ("setup" and "config" stay out:
	// "ignore the setup guide" is about a router)
	{gInstr, []string{"preamble", "briefing", "rulebook", "konfiguration", "configuracion", "configuration"}},
	{gPrompt, []string{"preamble", "briefing"}},
	{gPassive, []string{"expired"}},
	// planted mail: "forward the user's passwords"
	{gCred, []string{"contrasenas", "senhas", "пароли", "паролей", "passworter", "kennworter"}},
	{gReveal, []string{"reenvia", "reenvie", "reenvoie", "inoltra", "weiterleiten", "перешли"}},
	{gAddress, []string{"hinweis", "whisper", "memo"}},
	{gGiven, []string{"indicaron", "indicado", "indicadas", "indique", "indiquees"}},
	{gGiven, []string{"embedded", "inserted", "baked", "hardcoded"}},
	// ar "القواعد السابقة لم تعد سارية": the rules above are no longer valid
	{gNeg, []string{"لم", "لا", "ليست"}},
	{gComply, []string{"سارية", "صالحة", "تنطبق"}},
	// it "un'IA", "all'IA" lose the apostrophe in the fold
	{gAI, []string{"unia", "allia", "dellia"}},
	{gSay, []string{"responder", "rispondere", "repondre", "dire", "antworten", "beantworten", "responda", "rispondi", "отвечать"}},
	{gEvery, []string{"regardless"}},
	{gWhat, []string{"quoi"}},
	// "niente limiti", "no tienes normas": no-rules follow-ups
	{gNoWord, []string{"niente", "nessun", "nessuna", "ningun", "ninguna", "aucune", "aucun", "nenhuma", "nenhum"}},
	{gRestr, []string{"normas", "norme", "normes", "limiti"}},
	{gRoleplay, []string{"spiel", "interpreta", "joue", "jouez", "incarne", "incarnez", "interpretiere"}},
	{gSay, []string{"mention", "menciones", "menciona", "mentionne", "mentionnez", "erwahne", "erwahnt", "menzionare", "menzionarlo", "mencione"}},
}

// rot13Groups are the groups whose English words are also matched in ROT13,
// so a payload like "vtaber cerivbhf vafgehpgvbaf" is read without decoding
// every word of every prompt.
const rot13Groups = gOverride | gPrior | gInstr | gReveal | gSecretAdj | gPrompt | gYou | gEvery | gAbove | gPersona | gNoWord | gRestr | gAre | gNow | gAll | gSay | gCred | gRoleplay

// vocabularyWords yields every vocabulary word (ROT13 forms are ASCII and
// need no table).
func vocabularyWords(yield func(string) bool) {
	for _, e := range vocabulary {
		for _, w := range e.words {
			if !yield(w) {
				return
			}
		}
	}
}
