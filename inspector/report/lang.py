"""The walkthrough's own words in the languages it speaks: English (each step's ``what``, in
``inspector.report.steps``) and Chinese, the language of the walkthrough the project grew from.
Written by the project, not copied; kernel identifiers stay as they are. The page carries both
and switches on the page itself, without reloading (``SWITCH_JS``)."""

from __future__ import annotations

LANGS = ("en", "zh")

# what each step does, by the kernel function it is named after (the same in every release)
ZH: dict[str, str] = {
    "start_kernel": "引导 CPU 进入的第一个 C 函数，内存初始化从这里一步步展开",
    "setup_arch": "体系结构相关的初始化：把固件给出的内存布局（e820 或设备树）交给 memblock",
    "setup_memory_map": "读取固件的 e820 内存表并整理（消除重叠、排序）",
    "e820__memory_setup": "读取固件的 e820 内存表并整理（消除重叠、排序）",
    "memblock_x86_fill": "把 e820 中可用的 RAM 加入 memblock.memory",
    "e820__memblock_setup": "把 e820 中可用的 RAM 加入 memblock.memory",
    "initmem_init": "确定 NUMA 节点（ACPI SRAT 或模拟），并标注到 memblock 的各个区间上",
    "arm64_memblock_init": "把设备树描述的内存加入 memblock，去掉 mem= 与线性映射放不下的部分；"
    "保留内核、initrd 与设备树本身",
    "paging_init": "为 memblock 中的内存建立内核页表",
    "bootmem_init": "依次确定 NUMA 节点、稀疏内存段（section），然后计算各个内存域（zone）",
    "arm64_numa_init": "从设备树读出 NUMA 节点（没有则伪造一个节点），并标注到 memblock 区间上",
    "arch_numa_init": "从设备树读出 NUMA 节点（没有则伪造一个节点），并标注到 memblock 区间上",
    "zone_sizes_init": "算出每个内存域的最高页帧号：max_zone_pfn[]",
    "free_area_init_nodes": "确定各内存域的范围与 ZONE_MOVABLE，再逐个初始化节点",
    "free_area_init": "确定各内存域的范围与 ZONE_MOVABLE，再逐个初始化所有可能的节点",
    "free_area_init_node": "初始化一个节点的 pg_data_t",
    "free_area_init_core": "计算节点中每个内存域的跨度（spanned）、实际页数（present）"
    "与可管理页数（managed）",
    "memmap_init_zone": "初始化内存域中每一个 struct page，并把页块（pageblock）标为 "
    "MIGRATE_MOVABLE",
    "memmap_init": "所有节点之后：按 memblock 区间与内存域逐段初始化 struct page，再处理空洞",
    "memmap_init_range": "初始化一段（区间、内存域）的 struct page，页块标为 MIGRATE_MOVABLE",
    "build_all_zonelists": "为每个节点建立内存域的后备顺序（zonelist）："
    "分配失败时依次尝试哪些内存域",
    "page_alloc_init": "注册 CPU 热插拔回调：CPU 下线时清空它的每 CPU 页列表",
    "page_alloc_init_cpuhp": "注册 CPU 热插拔回调：CPU 下线时清空它的每 CPU 页列表",
    "pidhash_init": "按内存域中的内存大小分配 PID 哈希表",
    "vfs_caches_init_early": "VFS 早期的哈希表",
    "dcache_init_early": "dentry 哈希表：从 memblock 分配，除非 hashdist 把它分散到各节点",
    "inode_init_early": "inode 哈希表，同上",
    "mm_init": "各个分配器就绪：mem_init() 把内存交给伙伴系统",
    "mm_core_init": "各个分配器就绪：先建立 zonelist，再由 mem_init() 把内存交给伙伴系统",
    "mem_init": "把 memblock 中空闲的内存交给伙伴分配器（buddy allocator）",
    "free_all_bootmem": "逐个空闲的 memblock 区间，以页块为单位交给 __free_one_page()",
    "memblock_free_all": "逐个空闲的 memblock 区间交给 __free_pages_core()，挂到空闲链表的尾部",
    "page_alloc_init_late": "kernel_init_freeable() 中，开启 CONFIG_DEFERRED_STRUCT_PAGE_INIT 时："
    "每个节点一个 pgdatinit 内核线程初始化 memmap_init() 留下的 struct page（从 "
    "first_deferred_pfn 起），并把它们释放给伙伴系统；这里显示它们成为的空闲块",
    "init_per_zone_wmark_min": "初始化调用：min_free_kbytes、水位线（watermark）、lowmem_reserve "
    "与每 CPU 页列表",
}

# the page's own labels
LABELS: dict[str, dict[str, str]] = {
    "en": {"switch": "中文", "title": "Watching the buddy allocator being born"},
    "zh": {"switch": "English", "title": "观察伙伴分配器的诞生"},
}

# hides the language not chosen; the button switches the body's class, nothing is reloaded
CSS = (
    "body.lang-en [data-lang=zh],body.lang-zh [data-lang=en]{display:none}"
    "#lang-switch{position:fixed;top:.5em;right:.5em}"
)
SWITCH_JS = """
document.getElementById('lang-switch').addEventListener('click', function () {
  var zh = document.body.classList.toggle('lang-zh');
  document.body.classList.toggle('lang-en', !zh);
});
"""


def both(en: str, zh: str | None, tag: str = "span", cls: str = "") -> str:
    """``en`` and ``zh`` side by side, each marked with its language (already HTML-escaped)."""
    attr = f" class='{cls}'" if cls else ""
    out = f"<{tag}{attr} data-lang='en'>{en}</{tag}>"
    return out + f"<{tag}{attr} data-lang='zh' lang='zh-Hans'>{zh or en}</{tag}>"


def page_head(title: str, heading: str, summary: str, toc: str, css: str, lang: str) -> list[str]:
    """The top of a walkthrough page (already HTML-escaped parts): title, the language switch,
    the heading after the page's own title, the summary, the keys and the outline's contents."""
    return [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>mm init walkthrough: {title}</title>",
        f"<style>{css}{CSS}</style></head><body class='lang-{lang}'>",
        f"<button id='lang-switch'>{both(LABELS['en']['switch'], LABELS['zh']['switch'])}</button>",
        f"<h1>{both(LABELS['en']['title'], LABELS['zh']['title'])}: {heading}</h1>",
        f"<p class='summary'>{summary}</p>",
        "<p class='keys'>"
        + both(
            "Keys: n / j next step, p / k previous step; a number opens how it was computed.",
            "按键：n / j 下一步，p / k 上一步；点开一个数字，看它是怎样算出来的。",
        )
        + "</p>",
        f"<nav><ol class='toc'>{toc}</ol></nav>",
    ]
