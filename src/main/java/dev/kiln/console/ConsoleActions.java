package dev.kiln.console;

import dev.kiln.catalog.Catalog;
import dev.kiln.catalog.CatalogCache;
import dev.kiln.catalog.Stack;
import dev.kiln.history.History;
import dev.kiln.publish.Digests;
import dev.kiln.retire.Retirer;
import dev.kiln.schedule.Schedules;
import dev.kiln.security.UntrustedText;
import java.security.Principal;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.springframework.stereotype.Controller;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.servlet.mvc.support.RedirectAttributes;

/**
 * What the platform role does from the console, each with a reason where the history keeps one: pin,
 * unpin, retire an image or run the retention policy now, trigger a build. Every form carries a CSRF
 * token (Spring Security checks it before any of this runs); the outcome shows on the stack's page.
 */
@Controller
class ConsoleActions {

    static final int MAX_REASON = 1000;
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");

    private final History history;
    private final Retirer retirer;
    private final Schedules schedules;
    private final CatalogCache catalogs;

    ConsoleActions(History history, Retirer retirer, Schedules schedules, CatalogCache catalogs) {
        this.history = history;
        this.retirer = retirer;
        this.schedules = schedules;
        this.catalogs = catalogs;
    }

    @PostMapping("/console/stacks/{name}/pins")
    String pin(@PathVariable String name, @RequestParam String digest, @RequestParam(required = false) String reason, Principal principal,
               RedirectAttributes flash) {
        return act(name, flash, () -> {
            String why = reason(reason);
            checkDigest(digest);
            subject(name);
            try {
                List<History.LiveTag> tags = history.pin(name, History.ImageName.digest(digest), ConsolePages.actor(principal), why);
                return tags.isEmpty() ? fail("stack '" + name + "' has no live image " + digest) : "pinned " + name + ":" + tags(tags);
            } catch (IllegalStateException e) {
                return fail(e.getMessage());
            }
        });
    }

    @PostMapping("/console/stacks/{name}/unpin")
    String unpin(@PathVariable String name, @RequestParam String digest, @RequestParam(required = false) String reason, Principal principal,
                 RedirectAttributes flash) {
        return act(name, flash, () -> {
            String why = reason(reason);
            checkDigest(digest);
            subject(name);
            List<History.LiveTag> tags = history.unpin(name, History.ImageName.digest(digest), ConsolePages.actor(principal), why);
            return tags.isEmpty() ? fail(name + ": " + digest + " is not pinned") : "unpinned " + name + ":" + tags(tags);
        });
    }

    @PostMapping("/console/stacks/{name}/retire")
    String retire(@PathVariable String name, @RequestParam(required = false) String digest, @RequestParam(required = false) String reason,
                  Principal principal, RedirectAttributes flash) {
        return act(name, flash, () -> {
            String why = reason(reason);
            Retirer.Subject stack = subject(name);
            String who = ConsolePages.actor(principal);
            if (digest == null || digest.isBlank()) {
                history.audit(who, "retirement.requested", name, Map.of("reason", why));
                Retirer.Result r = retirer.retire(stack, who);
                return "retention policy applied: retired " + (r.retired().isEmpty() ? "nothing" : String.join(", ", r.retired()))
                        + (r.failed().isEmpty() ? "" : "; failed: " + r.failed());
            }
            checkDigest(digest);
            try {
                Optional<Retirer.Result> r = retirer.retireNow(stack, digest, who, why);
                if (r.isEmpty()) {
                    return fail("stack '" + name + "' has no live image " + digest);
                }
                return r.get().failed().isEmpty() ? "retired " + String.join(", ", r.get().retired()) : fail("retiring " + digest
                        + " failed: " + r.get().failed());
            } catch (Retirer.Refused e) {
                return fail(e.getMessage());
            }
        });
    }

    private static String tags(List<History.LiveTag> tags) {
        return tags.stream().map(History.LiveTag::tag).distinct().collect(java.util.stream.Collectors.joining(", "));
    }

    @PostMapping("/console/stacks/{name}/builds")
    String trigger(@PathVariable String name, Principal principal, RedirectAttributes flash) {
        return act(name, flash, () -> {
            stack(name);
            String who = ConsolePages.actor(principal);
            if (!schedules.scheduled(name)) {
                schedules.sync(who);
            }
            History.Ticket ticket = schedules.trigger(name, "manual", who);
            return (ticket.joined() ? "joined build " : "queued build ") + ticket.id();
        });
    }

    /** A refusal: shown on the page as an error, nothing changed. */
    private static final class Refusal extends RuntimeException {
        Refusal(String message) {
            super(message);
        }
    }

    private static String fail(String message) {
        throw new Refusal(message);
    }

    private String act(String name, RedirectAttributes flash, java.util.function.Supplier<String> action) {
        if (!NAME.matcher(name).matches()) {
            flash.addFlashAttribute("error", "no such stack");
            return "redirect:/console/";
        }
        try {
            flash.addFlashAttribute("done", action.get());
        } catch (Refusal e) {
            flash.addFlashAttribute("error", e.getMessage());
        }
        return "redirect:/console/stacks/" + name;
    }

    private Stack stack(String name) {
        Catalog catalog = catalogs.current();
        return catalog.stack(name).orElseThrow(() -> new Refusal(catalog.names().contains(name)
                ? "stack '" + name + "' is invalid: " + catalog.problems(name) : "no stack '" + name + "' in the catalog"));
    }

    /** What pins and retirement work on: the catalog's valid stack, or a removed (or now broken) stack's recorded policy. */
    private Retirer.Subject subject(String name) {
        Catalog catalog = catalogs.current();
        return catalog.stack(name).map(Retirer.Subject::of)
                .or(() -> history.stack(name).flatMap(Retirer.Subject::recorded))
                .orElseThrow(() -> new Refusal(catalog.names().contains(name)
                        ? "stack '" + name + "' is invalid: " + catalog.problems(name) : "no stack '" + name + "' in the catalog"));
    }

    static String reason(String reason) {
        if (reason == null || reason.isBlank()) {
            throw new Refusal("a reason is required (who asked, why)");
        }
        UntrustedText.refusal(reason, MAX_REASON).ifPresent(why -> {
            throw new Refusal("the reason " + why);
        });
        return reason.strip();
    }

    private static void checkDigest(String digest) {
        if (!Digests.valid(digest)) {
            throw new Refusal("'" + UntrustedText.forLog(digest == null ? "" : digest, 140) + "' is not an image digest");
        }
    }
}
