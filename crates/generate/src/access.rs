//! Combined access log of a small shop with a blog: browsing sessions from a
//! client population (NAT heavy hitters included), crawlers and an uptime
//! monitor; attack campaigns; and an occasional flash crowd.
//!
//! Benign clients are held under the windowed thresholds by per-address
//! budgets (requests per second and minute, 404s, login failures, 429s and
//! bytes per window) that downgrade or delay a request rather than exceed them.

use crate::net;
use crate::payloads::{self, Sig};
use crate::rng::{Deck, Rng};
use crate::sched::{Sched, campaign_gap};
use crate::text::{
    push_clf_time, push_form_encoded, push_ip, push_nginx_escaped, push_pad, push_u64,
};
use crate::window::{NEVER, note, room};
use crate::{Ctx, GenOptions, MB, Truth};
use secmo_event::Category;
use std::net::IpAddr;

const SITE: &str = "https://shop.example.com";

const BROWSERS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:122.0) Gecko/20100101 Firefox/122.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/122.0.6261.89 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.6261.64 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 12; moto g(60)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.6167.178 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 OPR/107.0.0.0",
];
const BROWSER_WEIGHTS: &[u32] = &[22, 10, 8, 9, 8, 6, 3, 2, 12, 3, 2, 8, 4, 2, 1];

const ATTACKER_UAS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/81.0.4044.129 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:60.0) Gecko/20100101 Firefox/60.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/107.0.0.0 Safari/537.36",
    "Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.109 Safari/537.36",
];

const REFERRERS: &[&str] = &[
    "",
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://l.facebook.com/",
    "https://t.co/",
    "https://www.reddit.com/",
    "https://news.ycombinator.com/",
    "https://www.instagram.com/",
    "android-app://com.google.android.gm/",
    "https://www.pinterest.com/",
];
const REFERRER_WEIGHTS: &[u32] = &[35, 30, 5, 3, 6, 4, 4, 2, 4, 2, 3];

/// Benign searches, with words and characters that look alarming out of context.
const SEARCHES: &[&str] = &[
    "running shoes",
    "select running shoes",
    "union station tote bag",
    "drop shipping",
    "O'Brien",
    "rock 'n' roll t-shirt",
    "love it <3",
    "cats & dogs",
    "script writing kit",
    "order by price",
    "table lamp",
    "sleep mask",
    "50% off",
    "c++ for beginners",
    "kids' rain boots",
    "where is my order?",
    "exec chair",
    "café au lait mug",
    "echo dot",
    "1/2 inch drill bit",
    "\"linen shirt\"",
    "mens size 10-12",
    "x-ray glasses",
    "Ben & Jerry's",
    "1 or 2 person tent",
    "update firmware",
    "delete account",
    "insert tabs for binders",
    "java coffee beans",
    "alert sound doorbell",
    "wait for it mug",
    "a < b stickers",
];

const ADJ: &[&str] = &[
    "classic",
    "organic",
    "vintage",
    "slim",
    "waterproof",
    "wireless",
    "merino",
    "bamboo",
    "cast-iron",
    "ceramic",
    "linen",
    "recycled",
    "compact",
    "heavy-duty",
    "hand-made",
    "solar",
];
const NOUN: &[&str] = &[
    "wallet",
    "backpack",
    "tote-bag",
    "running-shoes",
    "desk-lamp",
    "coffee-mug",
    "rain-jacket",
    "chair",
    "tent",
    "water-bottle",
    "headphones",
    "skillet",
    "t-shirt",
    "notebook",
    "sunglasses",
    "blanket",
    "sneakers",
    "teapot",
    "watch",
    "scarf",
    "yoga-mat",
    "cutting-board",
    "socks",
    "planter",
    "charger",
];
const CATEGORIES: &[&str] = &[
    "men",
    "women",
    "kids",
    "home",
    "kitchen",
    "outdoor",
    "electronics",
    "sale",
    "new-arrivals",
    "gifts",
    "office",
    "sports",
];
const POSTS: &[&str] = &[
    "how-to-choose-running-shoes",
    "union-station-pop-up-store",
    "10-tips-for-drop-shipping",
    "select-the-right-size",
    "our-story",
    "spring-collection-2024",
    "caring-for-cast-iron",
    "why-we-use-recycled-materials",
    "gift-guide-for-coffee-lovers",
    "behind-the-scenes-at-the-warehouse",
    "camping-checklist",
    "sleep-better-tonight",
    "javascript-free-checkout",
    "drop-table-a-diy-story",
];
const STATIC_PAGES: &[&str] = &[
    "/about",
    "/contact",
    "/help/shipping",
    "/help/returns",
    "/help/reset-password",
    "/help/payment-methods",
    "/help/order-status",
    "/privacy",
    "/terms",
    "/careers",
    "/stores",
];
const CSS_JS: &[(&str, u64, u64)] = &[
    ("/static/css/main.3f9a1c.css", 38_000, 92_000),
    ("/static/css/vendor.77b2e0.css", 20_000, 45_000),
    ("/static/js/app.9d2e41.js", 120_000, 380_000),
    ("/static/js/vendor.1c0b7f.js", 150_000, 420_000),
    ("/static/js/runtime.aa03c2.js", 2_000, 6_000),
    ("/static/fonts/inter-var.woff2", 60_000, 110_000),
    ("/static/img/logo.svg", 3_000, 9_000),
    ("/favicon.ico", 4_286, 4_286),
    ("/static/img/hero-spring.webp", 80_000, 240_000),
];
const DEAD_LINKS: &[&str] = &[
    "/apple-touch-icon.png",
    "/apple-touch-icon-precomposed.png",
    "/products/discontinued-",
    "/blog/old-post-",
    "/promo/winter-sale-",
    "/static/img/banner-",
];

struct Bot {
    ua: &'static str,
    block: [u8; 3],
    ips: u8,
    mean_gap_ms: f64,
}

const BOTS: &[Bot] = &[
    Bot {
        ua: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        block: [66, 249, 66],
        ips: 2,
        mean_gap_ms: 9_000.0,
    },
    Bot {
        ua: "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.6261.94 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        block: [66, 249, 79],
        ips: 2,
        mean_gap_ms: 11_000.0,
    },
    Bot {
        ua: "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        block: [157, 55, 39],
        ips: 2,
        mean_gap_ms: 14_000.0,
    },
    Bot {
        ua: "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        block: [40, 77, 167],
        ips: 1,
        mean_gap_ms: 20_000.0,
    },
    Bot {
        ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
        block: [17, 241, 219],
        ips: 1,
        mean_gap_ms: 40_000.0,
    },
    Bot {
        ua: "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
        block: [20, 191, 45],
        ips: 1,
        mean_gap_ms: 60_000.0,
    },
];
const MONITOR_UA: &str = "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)";

struct Tool {
    ua: &'static str,
    paths: &'static [&'static str],
    lines: (u64, u64),
}

const SQLMAP_PROBES: &[&str] = &[
    "1 AND {n}={n}",
    "1' AND 'aBcD'='aBcD",
    "1) AND {n}={n} AND ({n}={n}",
    "1 AND SLEEP({s})",
    "1 UNION ALL SELECT NULL,NULL,NULL-- -",
    "1 ORDER BY {s}-- -",
    "1' OR NOT {n}={n}#",
    "1 AND (SELECT {n} FROM(SELECT COUNT(*),CONCAT(0x7176,(SELECT (ELT({n}={n},1))),0x7178,FLOOR(RAND(0)*2))x FROM INFORMATION_SCHEMA.PLUGINS GROUP BY x)a)",
];

const TOOLS: &[Tool] = &[
    Tool {
        ua: "sqlmap/1.8.3#stable (https://sqlmap.org)",
        paths: &[],
        lines: (20, 45),
    },
    Tool {
        ua: "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:",
        paths: &[
            "/",
            "/admin/",
            "/phpmyadmin/",
            "/cgi-bin/test-cgi",
            "/cgi-bin/printenv",
            "/icons/README",
            "/server-status",
            "/.htaccess",
            "/test/",
            "/backup/",
            "/examples/servlets/index.html",
            "/manager/html",
            "/jmx-console/",
            "/CHANGELOG.txt",
            "/config.inc",
            "/webdav/",
            "/scripts/",
            "/login.php",
            "/info.php",
            "/admin.php",
            "/db/",
            "/logs/",
            "/old/",
            "/temp/",
            "/install.php",
            "/setup.php",
        ],
        lines: (25, 50),
    },
    Tool {
        ua: "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
        paths: &[
            "/",
            "/nmaplowercheck",
            "/HNAP1",
            "/evox/about",
            "/.git/HEAD",
            "/robots.txt",
            "/sdk",
            "/NmapUpperCheck",
            "/favicon.ico",
            "/",
        ],
        lines: (8, 16),
    },
    Tool {
        ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36 Nuclei - Open-source project (github.com/projectdiscovery/nuclei)",
        paths: &[
            "/actuator/env",
            "/.git/config",
            "/server-status",
            "/swagger.json",
            "/api/swagger-ui.html",
            "/debug/pprof/",
            "/config.json",
            "/telescope/requests",
            "/_profiler/phpinfo",
            "/.vscode/sftp.json",
            "/wp-content/debug.log",
            "/jolokia/list",
            "/solr/admin/info/system",
            "/graphql",
            "/.well-known/security.txt",
            "/owa/auth/logon.aspx",
            "/cgi-bin/luci",
            "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
            "/actuator/health",
            "/metrics",
        ],
        lines: (20, 40),
    },
    Tool {
        ua: "WPScan v3.8.25 (https://wpscan.com/wordpress-security-scanner)",
        paths: &[
            "/",
            "/wp-login.php",
            "/readme.html",
            "/wp-json/wp/v2/users",
            "/xmlrpc.php",
            "/wp-content/plugins/akismet/readme.txt",
            "/wp-content/plugins/contact-form-7/readme.txt",
            "/wp-content/plugins/elementor/readme.txt",
            "/wp-content/themes/twentytwentyfour/style.css",
            "/wp-content/debug.log",
            "/wp-includes/js/jquery/jquery.js",
            "/wp-cron.php",
            "/wp-content/uploads/",
            "/?author=1",
            "/?author=2",
            "/feed/",
        ],
        lines: (16, 30),
    },
    Tool {
        ua: "masscan/1.3 (https://github.com/robertdavidgraham/masscan)",
        paths: &["/"],
        lines: (1, 2),
    },
    Tool {
        ua: "Mozilla/5.0 zgrab/0.x",
        paths: &["/", "/", "/robots.txt"],
        lines: (1, 3),
    },
];

const SENSITIVE: &[&str] = &[
    "/.env",
    "/.env.production",
    "/.env.bak",
    "/.git/config",
    "/.git/HEAD",
    "/wp-config.php.bak",
    "/wp-config.php~",
    "/wp-config.old",
    "/config.php.save",
    "/.aws/credentials",
    "/backup.sql",
    "/db.sql",
    "/dump.sql.gz",
    "/database.sql",
    "/.htpasswd",
    "/.DS_Store",
    "/.ssh/id_rsa",
    "/id_rsa",
    "/web.config",
    "/.svn/entries",
    "/config/database.yml",
    "/.npmrc",
    "/.docker/config.json",
    "/backup.zip",
    "/www.tar.gz",
    "/.bash_history",
    "/phpinfo.php",
    "/index.php?page=/etc/passwd",
    "/download?file=/etc/shadow",
    "/.git/logs/HEAD",
];

const LOGIN_TARGETS: &[(&str, u16)] = &[
    ("/login", 401),
    ("/wp-login.php", 403),
    ("/xmlrpc.php", 403),
    ("/user/login", 401),
    ("/admin/login", 401),
    ("/api/v1/auth/login", 401),
];
const ERROR_TARGETS: &[(&str, u16)] = &[
    ("/api/v1/orders/", 500),
    ("/api/v1/checkout/session", 502),
    ("/api/v1/inventory/sync", 503),
    ("/api/internal/metrics", 403),
    ("/api/v1/cart/items?sku=", 400),
];
const ERROR_UAS: &[&str] = &[
    "okhttp/4.12.0",
    "MyShopApp/5.2.1 (Android 14; Pixel 7)",
    "axios/1.6.7",
];
const EXFIL_PATHS: &[&str] = &[
    "/exports/customers-",
    "/media/videos/promo-",
    "/backups/site-",
    "/api/v1/export?format=csv&page=",
    "/downloads/catalog-hires-",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Page {
    Home,
    Products(u8),
    Product(u16),
    Category(u8),
    Search(u8),
    Blog,
    Post(u8),
    Static(u8),
    Cart,
    Checkout,
    Account,
    Login,
    Download(u8),
}

fn product_slug(out: &mut String, id: u16) {
    let id = usize::from(id);
    out.push_str(ADJ[id % ADJ.len()]);
    out.push('-');
    out.push_str(NOUN[id / ADJ.len() % NOUN.len()]);
    out.push('-');
    push_u64(out, id as u64);
}

fn push_page(out: &mut String, page: Page) {
    match page {
        Page::Home => out.push('/'),
        Page::Products(n) => {
            out.push_str("/products");
            if n > 1 {
                out.push_str("?page=");
                push_u64(out, u64::from(n));
            }
        }
        Page::Product(id) => {
            out.push_str("/products/");
            product_slug(out, id);
        }
        Page::Category(c) => {
            out.push_str("/category/");
            out.push_str(CATEGORIES[usize::from(c) % CATEGORIES.len()]);
        }
        Page::Search(q) => {
            out.push_str("/search?q=");
            let q = SEARCHES[usize::from(q) % SEARCHES.len()];
            // Most browsers send `'` as %27; some older ones send it raw.
            push_form_encoded(out, q, q.len().is_multiple_of(3));
        }
        Page::Blog => out.push_str("/blog/"),
        Page::Post(p) => {
            out.push_str("/blog/");
            out.push_str(POSTS[usize::from(p) % POSTS.len()]);
        }
        Page::Static(s) => out.push_str(STATIC_PAGES[usize::from(s) % STATIC_PAGES.len()]),
        Page::Cart => out.push_str("/cart"),
        Page::Checkout => out.push_str("/checkout"),
        Page::Account => out.push_str("/account"),
        Page::Login => out.push_str("/login"),
        Page::Download(d) => {
            out.push_str("/downloads/");
            out.push_str(
                [
                    "catalog-2024.pdf",
                    "size-guide.pdf",
                    "assembly-manual.pdf",
                    "press-kit.zip",
                ][usize::from(d) % 4],
            );
        }
    }
}

/// The absolute URL of a page on the site, as a referer names it.
fn push_site_url(out: &mut String, page: Page) {
    out.push_str(SITE);
    push_page(out, page);
}

/// Size of a short error page (4xx/5xx body).
fn error_body_bytes(rng: &mut Rng) -> u64 {
    rng.range(150, 600)
}

fn random_page(rng: &mut Rng, logged_in: bool) -> Page {
    match rng.weighted(&[
        8,
        10,
        30,
        10,
        9,
        3,
        7,
        5,
        5,
        2,
        if logged_in { 4 } else { 1 },
        if logged_in { 0 } else { 4 },
        1,
    ]) {
        0 => Page::Home,
        1 => Page::Products(rng.range(1, 12) as u8),
        2 => Page::Product(rng.below(400) as u16),
        3 => Page::Category(rng.below(CATEGORIES.len() as u64) as u8),
        4 => Page::Search(rng.below(SEARCHES.len() as u64) as u8),
        5 => Page::Blog,
        6 => Page::Post(rng.below(POSTS.len() as u64) as u8),
        7 => Page::Static(rng.below(STATIC_PAGES.len() as u64) as u8),
        8 => Page::Cart,
        9 => Page::Checkout,
        10 => Page::Account,
        11 => Page::Login,
        _ => Page::Download(rng.below(4) as u8),
    }
}

/// Per-address budgets that keep benign traffic under the detection thresholds.
struct Client {
    ip: IpAddr,
    recent: [i64; 8],
    not_found: [i64; 5],
    auth_fail: [i64; 2],
    too_many: [i64; 3],
    minute: i64,
    minute_count: u32,
    bytes_bucket: i64,
    bytes_cur: u64,
    bytes_prev: u64,
    active: u8,
}

impl Client {
    fn new(ip: IpAddr) -> Self {
        Client {
            ip,
            recent: [NEVER; 8],
            not_found: [NEVER; 5],
            auth_fail: [NEVER; 2],
            too_many: [NEVER; 3],
            minute: NEVER,
            minute_count: 0,
            bytes_bucket: NEVER,
            bytes_cur: 0,
            bytes_prev: 0,
            active: 0,
        }
    }

    /// How long to hold the next request so the address stays under
    /// 8 requests in any second and 90 in a clock minute.
    fn hold(&self, now: i64) -> Option<i64> {
        if !room(&self.recent, now, 1000) {
            let oldest = self.recent.iter().copied().min().unwrap_or(now);
            return Some(oldest + 1001 - now);
        }
        if now / 60_000 == self.minute && self.minute_count >= 90 {
            return Some((self.minute + 1) * 60_000 - now + 1);
        }
        None
    }

    fn roll_bytes(&mut self, now: i64) {
        let bucket = now / 600_000;
        if bucket != self.bytes_bucket {
            self.bytes_prev = if bucket == self.bytes_bucket + 1 {
                self.bytes_cur
            } else {
                0
            };
            self.bytes_cur = 0;
            self.bytes_bucket = bucket;
        }
    }

    /// Bytes this address may still receive: any 10-minute window lies in
    /// two adjacent buckets, so capping their sum caps every window.
    fn bytes_room(&mut self, now: i64) -> u64 {
        self.roll_bytes(now);
        (45 * MB).saturating_sub(self.bytes_cur + self.bytes_prev)
    }

    fn record(&mut self, now: i64, status: u16, bytes: u64) {
        note(&mut self.recent, now);
        let minute = now / 60_000;
        if minute != self.minute {
            self.minute = minute;
            self.minute_count = 0;
        }
        self.minute_count += 1;
        self.roll_bytes(now);
        self.bytes_cur += bytes;
        match status {
            404 => note(&mut self.not_found, now),
            429 => note(&mut self.too_many, now),
            _ => {}
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flow {
    Browse,
    PostLogin,
    AfterLogin,
}

struct Session {
    client: u32,
    ua: u8,
    h2: bool,
    returning: bool,
    logged_in: bool,
    pages_left: u8,
    assets_left: u8,
    first: bool,
    landing_ref: u8,
    page: Page,
    prev: Option<Page>,
    flow: Flow,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Camp {
    Sig(Sig),
    Scanner(u8),
    Sensitive,
    Brute,
    Flood,
    NotFound,
    Scrape,
    ErrorBurst,
    Exfil,
}

/// Every kind of campaign once per round (scanners three times, each a different tool).
const ROUND: &[Camp] = &[
    Camp::Sig(Sig::Sqli),
    Camp::Sig(Sig::Xss),
    Camp::Sig(Sig::Traversal),
    Camp::Sig(Sig::Cmd),
    Camp::Sig(Sig::Log4shell),
    Camp::Scanner(0),
    Camp::Scanner(0),
    Camp::Scanner(0),
    Camp::Sensitive,
    Camp::Brute,
    Camp::Flood,
    Camp::NotFound,
    Camp::Scrape,
    Camp::ErrorBurst,
    Camp::Exfil,
];

struct Campaign {
    camp: Camp,
    ip: IpAddr,
    left: u32,
    step: u32,
    ua: u8,
    var: u32,
    gap: (i64, i64),
    success_at_end: bool,
}

struct Visitor {
    first: bool,
    ip: IpAddr,
    ua: u8,
    referer: u8,
    pages_left: u8,
    assets_left: u8,
    page: Page,
}

enum Task {
    Arrivals,
    Session(Session),
    Bot {
        bot: u8,
        client: u32,
        n: u32,
    },
    Monitor {
        client: u32,
    },
    Planner,
    Campaign(Campaign),
    /// A flash crowd: `until` 0 = arm at the next minute, -1 = start now, else its end.
    Spike {
        until: i64,
    },
    Visitor(Visitor),
}

/// Average requests per benign session (measured); sets the arrival rate.
const SESSION_REQUESTS: f64 = 13.0;
const VISITOR_REQUESTS: f64 = 6.75;

pub struct Access {
    sched: Sched<Task>,
    clients: Vec<Client>,
    heavy: u32,
    pool: u32,
    start: i64,
    base_rate: f64,
    attack_rate: f64,
    rotation: Deck<Camp>,
    tool_turn: u8,
    viral_post: u8,
    // Reused per-line buffers.
    target: String,
    referer: String,
    ua: String,
    raw: String,
    scratch: String,
}

impl Access {
    pub fn new(opts: &GenOptions, ctx: &mut Ctx) -> Self {
        let rng = &mut ctx.rng;
        let base_rate = opts.rate();
        let pool = ((base_rate * 150.0) as usize).clamp(2000, 200_000);
        let mut clients: Vec<Client> = (0..pool)
            .map(|_| Client::new(net::benign(rng, 0.12)))
            .collect();
        let mut sched = Sched::new();
        let start = opts.start_ms;
        // Crawlers and the monitor get their own client slots after the pool.
        for (b, bot) in BOTS.iter().enumerate() {
            for _ in 0..bot.ips {
                clients.push(Client::new(net::in_block(
                    rng,
                    bot.block[0],
                    bot.block[1],
                    bot.block[2],
                )));
                let client = (clients.len() - 1) as u32;
                sched.push(
                    start + rng.below(bot.mean_gap_ms as u64) as i64,
                    Task::Bot {
                        bot: b as u8,
                        client,
                        n: 0,
                    },
                );
            }
        }
        clients.push(Client::new(net::in_block(rng, 216, 144, 250)));
        sched.push(
            start + rng.below(60_000) as i64,
            Task::Monitor {
                client: (clients.len() - 1) as u32,
            },
        );
        let mut me = Access {
            sched,
            clients,
            heavy: (pool / 50) as u32,
            pool: pool as u32,
            start,
            base_rate,
            attack_rate: opts.attack_rate(),
            rotation: Deck::new(ROUND.to_vec()),
            tool_turn: 0,
            viral_post: 0,
            target: String::with_capacity(256),
            referer: String::with_capacity(256),
            ua: String::with_capacity(256),
            raw: String::with_capacity(256),
            scratch: String::with_capacity(256),
        };
        // Start in steady state: sessions already under way, so the first
        // minutes are not a ramp that looks like a spike afterwards.
        let warm = (base_rate / SESSION_REQUESTS * 60.0) as usize;
        for _ in 0..warm {
            let mut s = me.new_session(&mut ctx.rng);
            s.first = false;
            s.pages_left = ctx.rng.range(1, 5) as u8;
            let at = start + ctx.rng.below(40_000) as i64;
            me.sched.push(at, Task::Session(s));
        }
        me.sched.push(start, Task::Arrivals);
        if me.attack_rate > 0.0 {
            me.sched
                .push(start + ctx.rng.range(20_000, 90_000) as i64, Task::Planner);
            // The spike rule compares with 30 one-minute buckets of baseline.
            let expected_secs = if opts.lines > 0 {
                opts.lines as f64 / (base_rate + me.attack_rate)
            } else {
                0.0
            };
            let at = (expected_secs * 0.4).max(35.0 * 60.0);
            me.sched
                .push(start + (at * 1000.0) as i64, Task::Spike { until: 0 });
        }
        me
    }

    /// Benign request rate at simulated time `t`: a slow swell, never abrupt.
    fn rate_at(&self, t: i64) -> f64 {
        let phase = (t - self.start) as f64 / (6.0 * 3_600_000.0) * std::f64::consts::TAU;
        self.base_rate * (1.0 + 0.15 * phase.sin())
    }

    fn new_session(&mut self, rng: &mut Rng) -> Session {
        let mut client = 0u32;
        for _ in 0..8 {
            let heavy = rng.chance(0.2);
            client = if heavy {
                rng.below(u64::from(self.heavy.max(1))) as u32
            } else {
                self.heavy + rng.below(u64::from(self.pool - self.heavy)) as u32
            };
            let cap = if heavy { 3 } else { 1 };
            if self.clients[client as usize].active < cap {
                break;
            }
        }
        self.clients[client as usize].active += 1;
        let ua = rng.weighted(BROWSER_WEIGHTS) as u8;
        let mut pages = 1u8;
        while pages < 25 && rng.chance(0.78) {
            pages += 1;
        }
        let landing_ref = rng.weighted(REFERRER_WEIGHTS) as u8;
        let page = if landing_ref == 0 && rng.chance(0.5) {
            Page::Home
        } else {
            random_page(rng, false)
        };
        Session {
            client,
            ua,
            h2: rng.chance(0.7),
            returning: rng.chance(0.4),
            logged_in: false,
            pages_left: pages,
            assets_left: 0,
            first: true,
            landing_ref,
            page,
            prev: None,
            flow: Flow::Browse,
        }
    }

    pub fn next(&mut self, ctx: &mut Ctx, out: &mut String) -> Option<Truth> {
        loop {
            let (at, task) = self.sched.next(&mut ctx.now, || Task::Arrivals);
            match task {
                Task::Arrivals => {
                    let s = self.new_session(&mut ctx.rng);
                    self.sched.push(at, Task::Session(s));
                    let mean = 1000.0 * SESSION_REQUESTS / self.rate_at(at);
                    let gap = ctx.rng.exp_ms(mean);
                    self.sched.push(at + gap, Task::Arrivals);
                }
                Task::Session(s) => {
                    if self.session_step(ctx, s, out) {
                        return None;
                    }
                }
                Task::Bot { bot, client, n } => {
                    if let Some(wait) = self.clients[client as usize].hold(at) {
                        self.sched.push(at + wait, Task::Bot { bot, client, n });
                        continue;
                    }
                    self.bot_request(ctx, bot, client, n, out);
                    let b = &BOTS[usize::from(bot)];
                    let scale = (20.0 / self.base_rate).max(1.0);
                    let gap = 1000 + ctx.rng.exp_ms(b.mean_gap_ms * scale);
                    self.sched.push(
                        at + gap,
                        Task::Bot {
                            bot,
                            client,
                            n: n + 1,
                        },
                    );
                    return None;
                }
                Task::Monitor { client } => {
                    let ip = self.clients[client as usize].ip;
                    self.clients[client as usize].record(at, 200, 0);
                    write_line(
                        out, ctx, ip, "HEAD", "/", "HTTP/1.1", 200, 0, "", MONITOR_UA,
                    );
                    self.sched.push(
                        at + 60_000 + ctx.rng.range_i(-300, 300),
                        Task::Monitor { client },
                    );
                    return None;
                }
                Task::Planner => {
                    let camp = self.next_campaign(&mut ctx.rng);
                    let expected = f64::from(camp.left);
                    self.sched.push(at, Task::Campaign(camp));
                    let gap = campaign_gap(&mut ctx.rng, expected, self.attack_rate);
                    self.sched.push(at + gap, Task::Planner);
                }
                Task::Campaign(c) => return Some(self.campaign_step(ctx, c, out)),
                Task::Spike { until } => {
                    if until == 0 {
                        // Aligned to the clock minute so one whole one-minute
                        // bucket carries the crowd (about 8x the usual traffic).
                        let begin = (at / 60_000 + 1) * 60_000 + ctx.rng.range_i(0, 2_000);
                        self.sched.push(begin, Task::Spike { until: -1 });
                        continue;
                    }
                    if until == -1 {
                        let until = at + ctx.rng.range_i(61_000, 66_000);
                        self.viral_post = ctx.rng.below(POSTS.len() as u64) as u8;
                        self.sched.push(at, Task::Spike { until });
                        continue;
                    }
                    if at >= until {
                        // The next flash crowd, hours later.
                        let next = at + ctx.rng.range_i(3 * 3_600_000, 5 * 3_600_000);
                        self.sched.push(next, Task::Spike { until: 0 });
                        continue;
                    }
                    let v = Visitor {
                        first: true,
                        ip: net::spike_visitor(&mut ctx.rng),
                        ua: ctx.rng.weighted(BROWSER_WEIGHTS) as u8,
                        referer: ctx.rng.below(3) as u8,
                        pages_left: ctx.rng.range(1, 2) as u8,
                        assets_left: 0,
                        page: Page::Post(self.viral_post),
                    };
                    self.sched.push(at, Task::Visitor(v));
                    let extra = 7.0;
                    let mean = 1000.0 * VISITOR_REQUESTS / (self.rate_at(at) * extra);
                    self.sched
                        .push(at + ctx.rng.exp_ms(mean), Task::Spike { until });
                }
                Task::Visitor(v) => {
                    if self.visitor_step(ctx, v, out) {
                        return Some(Truth {
                            category: Category::TrafficSpike,
                            ip: String::from("-"),
                            user: None,
                        });
                    }
                }
            }
        }
    }

    /// One request of a benign session; false when nothing was written.
    fn session_step(&mut self, ctx: &mut Ctx, mut s: Session, out: &mut String) -> bool {
        let now = ctx.now;
        let rng = &mut ctx.rng;
        let ci = s.client as usize;
        if let Some(wait) = self.clients[ci].hold(now) {
            self.sched
                .push(now + wait + rng.below(400) as i64, Task::Session(s));
            return false;
        }
        self.target.clear();
        self.referer.clear();
        let mut method = "GET";
        let status: u16;
        let mut bytes: u64;
        let next_at: Option<i64>;
        if s.assets_left > 0 {
            // A sub-request of the current page: asset, XHR or beacon.
            s.assets_left -= 1;
            push_site_url(&mut self.referer, s.page);
            let r = rng.below(100);
            if r < 20 {
                match s.page {
                    Page::Product(id) => {
                        self.target.push_str("/api/v1/recommendations?product_id=");
                        push_u64(&mut self.target, u64::from(id));
                        self.target.push_str("&limit=8");
                    }
                    Page::Search(q) => {
                        self.target.push_str("/api/v1/search/suggest?q=");
                        push_form_encoded(
                            &mut self.target,
                            SEARCHES[usize::from(q) % SEARCHES.len()],
                            false,
                        );
                    }
                    _ => self.target.push_str("/api/v1/cart"),
                }
                status = 200;
                bytes = rng.range(600, 9_000);
            } else if r < 32 {
                method = "POST";
                self.target.push_str("/api/v1/events");
                status = 204;
                bytes = 0;
            } else if r < 36 && matches!(s.page, Page::Product(_)) {
                method = "POST";
                self.target.push_str("/api/v1/cart/items");
                status = 201;
                bytes = rng.range(300, 1_200);
            } else if s.first || matches!(s.page, Page::Home) {
                let (path, lo, hi) = rng.pick(CSS_JS);
                self.target.push_str(path);
                if s.returning && rng.chance(0.75) {
                    status = 304;
                    bytes = 0;
                } else {
                    status = 200;
                    bytes = rng.range(lo, hi);
                }
            } else {
                self.target.push_str("/media/products/");
                let id = if let Page::Product(id) = s.page {
                    u64::from(id)
                } else {
                    rng.below(400)
                };
                push_u64(&mut self.target, id);
                self.target.push('-');
                push_u64(&mut self.target, rng.range(1, 6));
                self.target.push_str(".webp");
                status = 200;
                bytes = rng.range(8_000, 180_000);
            }
            next_at = Some(now + rng.range_i(15, 250));
        } else if s.flow == Flow::PostLogin {
            method = "POST";
            self.target.push_str("/login");
            self.referer.push_str(SITE);
            self.referer.push_str("/login");
            let fail = rng.chance(0.08) && room(&self.clients[ci].auth_fail, now, 300_000);
            if fail {
                note(&mut self.clients[ci].auth_fail, now);
                status = 401;
                bytes = rng.range(1_100, 1_400);
                next_at = Some(now + rng.range_i(4_000, 15_000));
            } else {
                status = 302;
                bytes = rng.range(0, 154);
                s.flow = Flow::AfterLogin;
                s.logged_in = true;
                next_at = Some(now + rng.range_i(150, 600));
            }
        } else if s.pages_left == 0 {
            self.clients[ci].active = self.clients[ci].active.saturating_sub(1);
            return false;
        } else {
            if s.flow == Flow::AfterLogin {
                s.prev = Some(Page::Login);
                s.page = Page::Account;
                s.flow = Flow::Browse;
            } else if !s.first {
                s.prev = Some(s.page);
                s.page = random_page(rng, s.logged_in);
            }
            s.pages_left -= 1;
            push_page(&mut self.target, s.page);
            match s.prev {
                Some(p) => {
                    push_site_url(&mut self.referer, p);
                }
                None => self.referer.push_str(REFERRERS[usize::from(s.landing_ref)]),
            }
            status = self.page_status(rng, s.page, ci, now);
            bytes = match status {
                200 => rng.range(9_000, 62_000),
                404 => rng.range(3_000, 3_600),
                500 => rng.range(500, 700),
                _ => rng.range(0, 200),
            };
            if let Page::Download(_) = s.page
                && status == 200
            {
                bytes = rng.range(1_500_000, 8 * MB);
            }
            if status == 404 {
                // The page the link pointed at does not exist: the target changed.
                self.target.clear();
                self.target.push_str(rng.pick(DEAD_LINKS));
                if !self.target.ends_with(".png") {
                    push_u64(&mut self.target, rng.range(1, 99_999));
                }
            }
            if s.page == Page::Login && !s.logged_in {
                s.flow = Flow::PostLogin;
            }
            s.assets_left = if status != 200 {
                0
            } else if s.first {
                rng.range(3, 6) as u8
            } else {
                rng.range(0, 2) as u8
            };
            s.first = false;
            next_at = Some(if s.assets_left > 0 || s.flow == Flow::AfterLogin {
                now + rng.range_i(40, 400)
            } else {
                now + 2_000 + rng.exp_ms(18_000.0)
            });
        }
        // Stay under the per-address byte budget (a cached reply instead).
        if bytes > self.clients[ci].bytes_room(now) {
            bytes = 0;
        }
        let status = if bytes == 0 && status == 200 && method == "GET" {
            304
        } else {
            status
        };
        self.clients[ci].record(now, status, bytes);
        let ip = self.clients[ci].ip;
        let proto = if s.h2 { "HTTP/2.0" } else { "HTTP/1.1" };
        let ua = BROWSERS[usize::from(s.ua) % BROWSERS.len()];
        write_line(
            out,
            ctx,
            ip,
            method,
            &self.target,
            proto,
            status,
            bytes,
            &self.referer,
            ua,
        );
        if let Some(at) = next_at {
            self.sched.push(at, Task::Session(s));
        }
        true
    }

    fn page_status(&self, rng: &mut Rng, page: Page, ci: usize, now: i64) -> u16 {
        let c = &self.clients[ci];
        if rng.chance(0.012) && room(&c.not_found, now, 300_000) {
            return 404;
        }
        match page {
            Page::Checkout | Page::Cart if rng.chance(0.002) => 500,
            Page::Search(_) if rng.chance(0.004) && room(&c.too_many, now, 300_000) => 429,
            Page::Account if rng.chance(0.05) => 302,
            _ => 200,
        }
    }

    fn bot_request(&mut self, ctx: &mut Ctx, bot: u8, client: u32, n: u32, out: &mut String) {
        let now = ctx.now;
        let rng = &mut ctx.rng;
        let ci = client as usize;
        self.target.clear();
        let mut status = 200;
        let mut bytes = rng.range(9_000, 62_000);
        if n.is_multiple_of(40) {
            self.target.push_str("/robots.txt");
            bytes = 312;
        } else if n % 40 == 1 {
            self.target.push_str("/sitemap.xml");
            bytes = rng.range(40_000, 90_000);
        } else if rng.chance(0.03) && room(&self.clients[ci].not_found, now, 300_000) {
            self.target.push_str("/products/discontinued-");
            push_u64(&mut self.target, rng.range(1, 99_999));
            status = 404;
            bytes = rng.range(3_000, 3_600);
        } else {
            let page = random_page(rng, false);
            let page = if page == Page::Login || matches!(page, Page::Download(_)) {
                Page::Blog
            } else {
                page
            };
            push_page(&mut self.target, page);
            if rng.chance(0.05) {
                status = 301;
                bytes = 162;
            }
        }
        self.clients[ci].record(now, status, bytes);
        let ip = self.clients[ci].ip;
        let ua = BOTS[usize::from(bot)].ua;
        write_line(
            out,
            ctx,
            ip,
            "GET",
            &self.target,
            "HTTP/1.1",
            status,
            bytes,
            "",
            ua,
        );
    }

    fn next_campaign(&mut self, rng: &mut Rng) -> Campaign {
        let mut camp = self.rotation.deal(rng).unwrap_or(Camp::Sig(Sig::Sqli));
        if let Camp::Scanner(_) = camp {
            camp = Camp::Scanner(self.tool_turn % TOOLS.len() as u8);
            self.tool_turn = self.tool_turn.wrapping_add(1);
        }
        let (lines, gap) = match camp {
            Camp::Sig(_) => (rng.range(8, 20), (800, 6_000)),
            Camp::Scanner(t) => {
                let tool = &TOOLS[usize::from(t)];
                (rng.range(tool.lines.0, tool.lines.1), (2_200, 3_500))
            }
            Camp::Sensitive => (rng.range(6, 14), (400, 2_500)),
            Camp::Brute => (rng.range(20, 60), (2_600, 5_000)),
            Camp::Flood => {
                let per_sec = rng.range(25, 40);
                let secs = rng.range(6, 12);
                let g = 1000 / per_sec as i64;
                (per_sec * secs, (g * 7 / 10, g * 13 / 10))
            }
            Camp::NotFound => (rng.range(45, 70), (2_600, 3_600)),
            Camp::Scrape => (rng.range(60, 90), (2_000, 2_800)),
            Camp::ErrorBurst => (rng.range(70, 95), (550, 800)),
            Camp::Exfil => (rng.range(28, 40), (5_000, 15_000)),
        };
        Campaign {
            camp,
            ip: net::attacker(rng),
            left: lines as u32,
            step: 0,
            ua: rng.below(ATTACKER_UAS.len() as u64) as u8,
            var: rng.below(1 << 20) as u32,
            gap,
            success_at_end: rng.chance(0.2),
        }
    }

    fn campaign_step(&mut self, ctx: &mut Ctx, mut c: Campaign, out: &mut String) -> Truth {
        let rng = &mut ctx.rng;
        self.target.clear();
        self.referer.clear();
        self.ua.clear();
        self.ua
            .push_str(ATTACKER_UAS[usize::from(c.ua) % ATTACKER_UAS.len()]);
        let mut method = "GET";
        let mut proto = "HTTP/1.1";
        let mut status: u16 = 200;
        let mut bytes: u64 = rng.range(2_000, 40_000);
        let attacker = c.ip.to_string();
        let category = match c.camp {
            Camp::Sig(sig) => {
                self.signature_request(rng, sig, &attacker);
                status = rng.pick(&[200, 200, 200, 400, 403, 404, 500]);
                if status != 200 {
                    bytes = error_body_bytes(rng);
                }
                sig.category()
            }
            Camp::Scanner(t) => {
                self.scanner_request(rng, t, c.step, c.var);
                let tool = &TOOLS[usize::from(t)];
                self.ua.clear();
                self.ua.push_str(tool.ua);
                if t == 5 {
                    proto = "HTTP/1.0";
                }
                if tool.ua.ends_with("(Test:") {
                    push_pad(&mut self.ua, rng.range(1, 9999), 6);
                    self.ua.push(')');
                }
                if t == 2 && c.step % 5 == 3 {
                    method = rng.pick(&["OPTIONS", "PROPFIND", "POST"]);
                }
                status = if self.target == "/" || self.target == "/robots.txt" {
                    200
                } else {
                    rng.pick(&[404, 404, 404, 404, 403, 301, 200, 400])
                };
                bytes = if status == 200 {
                    rng.range(300, 60_000)
                } else {
                    error_body_bytes(rng)
                };
                Category::Scanner
            }
            Camp::Sensitive => {
                let i = (c.var as usize + c.step as usize * 7) % SENSITIVE.len();
                self.target.push_str(SENSITIVE[i]);
                status = rng.pick(&[404, 404, 404, 404, 404, 404, 403, 403, 200]);
                bytes = if status == 200 {
                    rng.range(200, 4_000)
                } else {
                    error_body_bytes(rng)
                };
                Category::SensitiveFile
            }
            Camp::Brute => {
                let (path, fail) = LOGIN_TARGETS[c.var as usize % LOGIN_TARGETS.len()];
                method = "POST";
                self.target.push_str(path);
                if rng.chance(0.3) {
                    self.referer.push_str(SITE);
                    self.referer.push_str(path);
                }
                if c.left == 1 && c.success_at_end {
                    status = 302;
                    bytes = rng.range(0, 154);
                } else {
                    status = fail;
                    bytes = rng.range(400, 1_400);
                }
                Category::BruteForce
            }
            Camp::Flood => {
                if c.var.is_multiple_of(2) {
                    self.target.push('/');
                } else {
                    push_page(&mut self.target, random_page(rng, false));
                }
                if c.var.is_multiple_of(3) {
                    self.ua.clear();
                }
                Category::Flood
            }
            Camp::NotFound => {
                const WORDS: &[&str] = &[
                    "admin", "old", "test", "dev", "api", "v1", "v2", "backup", "tmp", "uploads",
                    "private", "data", "files", "cms", "portal", "staging", "beta", "web", "app",
                    "shop", "new", "site",
                ];
                const EXT: &[&str] = &[
                    "", "/", ".php", ".bak", ".old", ".asp", ".jsp", ".txt", ".html", ".zip",
                ];
                self.target.push('/');
                let w = (c.var as usize + c.step as usize) % WORDS.len();
                self.target.push_str(WORDS[w]);
                push_u64(&mut self.target, u64::from(c.step));
                self.target
                    .push_str(EXT[(c.step as usize * 3 + c.var as usize) % EXT.len()]);
                status = 404;
                bytes = error_body_bytes(rng);
                Category::Scanner
            }
            Camp::Scrape => {
                if c.step.is_multiple_of(3) {
                    self.target.push_str("/products?page=");
                    push_u64(&mut self.target, u64::from(c.step / 3 + 1));
                    self.target.push_str("&sort=price");
                } else {
                    self.target.push_str("/products/");
                    product_slug(&mut self.target, ((c.var + c.step) % 400) as u16);
                }
                self.ua.clear();
                self.ua.push_str(ATTACKER_UAS[5]);
                if c.step >= 12 && rng.chance(0.65) {
                    status = 429;
                    bytes = 162;
                }
                Category::Scraping
            }
            Camp::ErrorBurst => {
                let (path, code) = ERROR_TARGETS[c.var as usize % ERROR_TARGETS.len()];
                self.target.push_str(path);
                if path.ends_with('/') || path.ends_with('=') {
                    push_u64(
                        &mut self.target,
                        u64::from(c.var % 90_000 + 10_000 + c.step % 3),
                    );
                }
                self.ua.clear();
                self.ua
                    .push_str(ERROR_UAS[c.var as usize % ERROR_UAS.len()]);
                status = code;
                bytes = rng.range(150, 700);
                Category::ErrorBurst
            }
            Camp::Exfil => {
                let path = EXFIL_PATHS[c.var as usize % EXFIL_PATHS.len()];
                self.target.push_str(path);
                push_u64(&mut self.target, u64::from(c.step + 1));
                if !path.ends_with('=') {
                    self.target.push_str(match path {
                        "/exports/customers-" => ".csv",
                        "/media/videos/promo-" => ".mp4",
                        "/backups/site-" => ".tar.gz",
                        _ => ".zip",
                    });
                }
                bytes = rng.range(40 * MB, 90 * MB);
                Category::Exfiltration
            }
        };
        c.left = c.left.saturating_sub(1);
        c.step += 1;
        let now = ctx.now;
        write_line(
            out,
            ctx,
            c.ip,
            method,
            &self.target,
            proto,
            status,
            bytes,
            &self.referer,
            &self.ua,
        );
        if c.left > 0 {
            let gap = ctx.rng.range_i(c.gap.0, c.gap.1).max(1);
            self.sched.push(now + gap, Task::Campaign(c));
        }
        Truth {
            category,
            ip: attacker,
            user: None,
        }
    }

    fn signature_request(&mut self, rng: &mut Rng, sig: Sig, attacker: &str) {
        payloads::random(sig, rng, attacker, &mut self.raw);
        let enc = rng.pick(payloads::encodings(sig));
        // Where the payload goes: 0 query, 1 path, 2 User-Agent, 3 Referer.
        let place = match sig {
            Sig::Sqli => rng.weighted(&[80, 10, 5, 5]),
            Sig::Xss => rng.weighted(&[85, 10, 0, 5]),
            Sig::Traversal => rng.weighted(&[60, 40, 0, 0]),
            Sig::Cmd => rng.weighted(&[88, 0, 12, 0]),
            Sig::Log4shell => rng.weighted(&[35, 10, 35, 20]),
        };
        let (endpoints, prefixes): (&[(&str, &str)], &[&str]) = match sig {
            Sig::Sqli => (
                &[
                    ("/products", "id"),
                    ("/product.php", "id"),
                    ("/search", "q"),
                    ("/category", "cat"),
                    ("/api/v1/products", "sort"),
                    ("/news", "item"),
                    ("/user", "name"),
                ],
                &["/products/", "/category/", "/api/v1/users/"],
            ),
            Sig::Xss => (
                &[
                    ("/search", "q"),
                    ("/contact", "name"),
                    ("/comment", "text"),
                    ("/login", "redirect"),
                    ("/blog/", "s"),
                    ("/error", "msg"),
                ],
                &["/search/", "/tag/", "/profile/"],
            ),
            Sig::Traversal => (
                &[
                    ("/download", "file"),
                    ("/index.php", "page"),
                    ("/view", "template"),
                    ("/image", "path"),
                    ("/docs", "doc"),
                    ("/api/v1/files", "name"),
                ],
                &[
                    "/static/",
                    "/images/",
                    "/download/",
                    "/cgi-bin/",
                    "/assets/",
                ],
            ),
            Sig::Cmd => (
                &[
                    ("/ping", "host"),
                    ("/cgi-bin/diag.cgi", "ip"),
                    ("/api/v1/tools/lookup", "domain"),
                    ("/exec", "cmd"),
                    ("/admin/backup", "file"),
                    ("/subscribe", "email"),
                ],
                &["/cgi-bin/"],
            ),
            Sig::Log4shell => (
                &[
                    ("/", "x"),
                    ("/search", "q"),
                    ("/api/v1/login", "username"),
                    ("/solr/admin/cores", "action"),
                    ("/websso/SAML2/SSO", "RelayState"),
                ],
                &["/", "/api/", "/v1/"],
            ),
        };
        match place {
            0 | 1 => {
                if place == 0 {
                    let (path, param) = rng.pick(endpoints);
                    self.target.push_str(path);
                    self.target.push('?');
                    if rng.chance(0.3) {
                        self.target.push_str("lang=en&");
                    }
                    self.target.push_str(param);
                    self.target.push('=');
                } else {
                    self.target.push_str(rng.pick(prefixes));
                }
                let keep_slash = place == 1 && rng.chance(0.5);
                payloads::encode(
                    enc,
                    &self.raw,
                    keep_slash,
                    rng,
                    &mut self.scratch,
                    &mut self.target,
                );
            }
            _ => {
                push_page(&mut self.target, random_page(rng, false));
                let field = if place == 2 {
                    &mut self.ua
                } else {
                    &mut self.referer
                };
                field.clear();
                if place == 3 && rng.chance(0.5) {
                    field.push_str(SITE);
                    field.push_str("/?q=");
                }
                field.push_str(&self.raw);
            }
        }
    }

    fn scanner_request(&mut self, rng: &mut Rng, tool: u8, step: u32, var: u32) {
        let t = &TOOLS[usize::from(tool)];
        if t.paths.is_empty() {
            // sqlmap: boolean, time and union probes against one parameter.
            self.target
                .push_str(["/product.php?id=", "/products?id=", "/news?item="][var as usize % 3]);
            self.raw.clear();
            payloads::fill(rng.pick(SQLMAP_PROBES), rng, "", &mut self.raw);
            crate::text::push_percent_all(&mut self.target, &self.raw, false);
            return;
        }
        let path = t.paths[(step as usize + var as usize) % t.paths.len()];
        self.target.push_str(path);
        if path.ends_with("check") || path.ends_with("Check") {
            push_u64(&mut self.target, 1_700_000_000 + u64::from(var));
        }
    }

    /// One request of a flash-crowd visitor; false when the visit is over.
    fn visitor_step(&mut self, ctx: &mut Ctx, mut v: Visitor, out: &mut String) -> bool {
        let now = ctx.now;
        let rng = &mut ctx.rng;
        self.target.clear();
        self.referer.clear();
        let (status, bytes, next);
        if v.assets_left > 0 {
            v.assets_left -= 1;
            let (path, lo, hi) = rng.pick(CSS_JS);
            self.target.push_str(path);
            push_site_url(&mut self.referer, v.page);
            status = 200;
            bytes = rng.range(lo, hi);
            next = if v.assets_left > 0 {
                now + rng.range_i(20, 250)
            } else {
                now + 4_000 + rng.exp_ms(15_000.0)
            };
        } else if v.pages_left == 0 {
            return false;
        } else {
            if v.first {
                v.first = false;
                self.referer.push_str(
                    [
                        "https://news.ycombinator.com/",
                        "https://t.co/",
                        "https://www.reddit.com/",
                    ][usize::from(v.referer) % 3],
                );
            } else {
                push_site_url(&mut self.referer, v.page);
                let p = random_page(rng, false);
                v.page = if p == Page::Login { Page::Home } else { p };
            }
            v.pages_left -= 1;
            push_page(&mut self.target, v.page);
            status = 200;
            bytes = rng.range(20_000, 62_000);
            v.assets_left = rng.range(2, 5) as u8;
            next = now + rng.range_i(40, 300);
        }
        let ua = BROWSERS[usize::from(v.ua) % BROWSERS.len()];
        write_line(
            out,
            ctx,
            v.ip,
            "GET",
            &self.target,
            "HTTP/2.0",
            status,
            bytes,
            &self.referer,
            ua,
        );
        if v.assets_left > 0 || v.pages_left > 0 {
            self.sched.push(next, Task::Visitor(v));
        }
        true
    }
}

#[allow(clippy::too_many_arguments)]
fn write_line(
    out: &mut String,
    ctx: &mut Ctx,
    ip: IpAddr,
    method: &str,
    target: &str,
    proto: &str,
    status: u16,
    bytes: u64,
    referer: &str,
    ua: &str,
) {
    push_ip(out, ip);
    out.push_str(" - - [");
    push_clf_time(out, &ctx.stamp());
    out.push_str("] \"");
    push_nginx_escaped(out, method);
    out.push(' ');
    push_nginx_escaped(out, target);
    out.push(' ');
    out.push_str(proto);
    out.push_str("\" ");
    push_u64(out, u64::from(status));
    out.push(' ');
    push_u64(out, bytes);
    out.push_str(" \"");
    if referer.is_empty() {
        out.push('-');
    } else {
        push_nginx_escaped(out, referer);
    }
    out.push_str("\" \"");
    if ua.is_empty() {
        out.push('-');
    } else {
        push_nginx_escaped(out, ua);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_budgets_hold_and_cap() {
        let mut c = Client::new(IpAddr::from([24, 1, 2, 3]));
        for i in 0..8 {
            assert_eq!(c.hold(1_000 + i * 10), None);
            c.record(1_000 + i * 10, 200, 0);
        }
        // A ninth request inside the same second waits until the first leaves the window.
        assert_eq!(c.hold(1_100), Some(1_000 + 1001 - 1_100));
        assert_eq!(c.hold(2_001), None);
        assert_eq!(c.bytes_room(0), 45 * MB);
        c.record(2_001, 200, 44 * MB);
        assert_eq!(c.bytes_room(2_002), MB);
        // Two buckets later the large download no longer counts.
        assert_eq!(c.bytes_room(1_200_001), 45 * MB);
    }

    #[test]
    fn pages_and_encoded_searches() {
        let mut s = String::new();
        push_page(&mut s, Page::Search(4));
        assert_eq!(s, "/search?q=O%27Brien");
        s.clear();
        push_page(&mut s, Page::Product(17));
        assert_eq!(s, "/products/organic-backpack-17");
        s.clear();
        let mut ctx = Ctx {
            rng: Rng::new(1),
            now: 971_211_336_000,
            shift: 0,
            last_stamp: i64::MIN,
        };
        write_line(
            &mut s,
            &mut ctx,
            IpAddr::from([1, 2, 3, 4]),
            "GET",
            "/a\"b",
            "HTTP/1.1",
            200,
            5,
            "",
            "UA \"x\"",
        );
        assert_eq!(
            s,
            "1.2.3.4 - - [10/Oct/2000:20:55:36 +0000] \"GET /a\\x22b HTTP/1.1\" 200 5 \"-\" \"UA \\x22x\\x22\""
        );
    }
}
